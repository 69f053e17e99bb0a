package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ebpfnet/ebpfnet/api"
)

var bucketServices = []byte("services")

// Services lists the stored services ordered by name.
func (l *Local) Services(ctx context.Context) ([]api.Service, error) {
	return list[api.Service](l.db, bucketServices)
}

// CreateService stores svc under its name in one transaction; ErrExists (wrapped) when the
// name is taken.
func (l *Local) CreateService(ctx context.Context, svc api.Service) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServices)
		if b.Get([]byte(svc.Name)) != nil {
			return fmt.Errorf("service %q: %w", svc.Name, ErrExists)
		}
		return b.Put([]byte(svc.Name), data)
	})
}

// DeleteService removes the named service; ErrNotFound (wrapped) if absent.
func (l *Local) DeleteService(ctx context.Context, name string) error {
	return del(l.db, bucketServices, name)
}
