package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

var (
	bucketPolicy = []byte("policy")
	keyPolicy    = []byte("policy")
)

// ClusterEndpoints is Endpoints: a single host is the whole cluster.
func (l *Local) ClusterEndpoints(ctx context.Context) ([]api.Endpoint, error) {
	return l.Endpoints(ctx)
}

// Identities lists the allocated identities (labelsKey -> identity).
func (l *Local) Identities(ctx context.Context) (map[string]uint32, error) {
	out := map[string]uint32{}
	err := l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdentities).ForEach(func(k, v []byte) error {
			if key, ok := strings.CutPrefix(string(k), "="); ok {
				out[key] = binary.BigEndian.Uint32(v)
			}
			return nil
		})
	})
	return out, err
}

// DeleteIdentity removes labelsKey's identity if it is id, in one transaction.
func (l *Local) DeleteIdentity(ctx context.Context, labelsKey string, id uint32) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdentities)
		k := []byte("=" + labelsKey)
		if v := b.Get(k); v == nil || binary.BigEndian.Uint32(v) != id {
			return nil
		}
		return b.Delete(k)
	})
}

// Policy returns the stored network policy, or the zero Policy.
func (l *Local) Policy(ctx context.Context) (policy.Policy, error) {
	var p policy.Policy
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPolicy)
		if b == nil {
			return nil
		}
		if v := b.Get(keyPolicy); v != nil {
			return json.Unmarshal(v, &p)
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("read policy: %w", err)
	}
	return p, nil
}

// PutPolicy replaces the stored network policy in one transaction.
func (l *Local) PutPolicy(ctx context.Context, p policy.Policy) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPolicy)
		if err != nil {
			return err
		}
		return b.Put(keyPolicy, data)
	})
}
