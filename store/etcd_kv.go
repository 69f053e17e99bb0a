package store

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// putJSON stores v as JSON under key; op names the operation in errors (see wrap).
func (s *Etcd) putJSON(ctx context.Context, key, op string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err = s.cli.Put(ctx, key, string(data))
	return s.wrap(op, err)
}

// deleteKey deletes key, the record name of kind (for errors); ErrNotFound if absent.
func (s *Etcd) deleteKey(ctx context.Context, key, kind, name string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Delete(ctx, key)
	if err != nil {
		return s.wrap("delete "+kind+" "+name, err)
	}
	if resp.Deleted == 0 {
		return fmt.Errorf("%ss %q: %w", kind, name, ErrNotFound)
	}
	return nil
}

// decodeJSON decodes every value of kvs as a T and appends them to out, in order.
func decodeJSON[T any](out []T, kvs []*mvccpb.KeyValue) ([]T, error) {
	for _, kv := range kvs {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}
