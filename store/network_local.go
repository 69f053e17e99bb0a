package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/ebpfnet/ebpfnet/api"
)

var bucketNetworks = []byte("networks")

// Networks lists the stored networks ordered by name.
func (l *Local) Networks(ctx context.Context) ([]api.Network, error) {
	return list[api.Network](l.db, bucketNetworks)
}

// CreateNetwork stores n under its name in one transaction that first checks every stored
// network for its name, ID and VNI (ErrExists).
func (l *Local) CreateNetwork(ctx context.Context, n api.Network) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNetworks)
		err := b.ForEach(func(k, v []byte) error {
			var o api.Network
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode %s/%s: %w", bucketNetworks, k, err)
			}
			return networkClash(o, n)
		})
		if err != nil {
			return err
		}
		return b.Put([]byte(n.Name), data)
	})
}

// DeleteNetwork removes the named network and this node's slice of it; ErrNotFound if absent.
func (l *Local) DeleteNetwork(ctx context.Context, name string) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNetworks)
		v := b.Get([]byte(name))
		if v == nil {
			return fmt.Errorf("%s %q: %w", bucketNetworks, name, ErrNotFound)
		}
		var n api.Network
		if err := json.Unmarshal(v, &n); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bucketNetworks, name, err)
		}
		if err := deleteSlices(tx, n.Subnet); err != nil {
			return err
		}
		return b.Delete([]byte(name))
	})
}

// networkClash is ErrExists (wrapped, naming what) when o has n's name, ID or VNI.
func networkClash(o, n api.Network) error {
	switch {
	case o.Name == n.Name:
		return fmt.Errorf("network %q: %w", n.Name, ErrExists)
	case o.ID == n.ID:
		return fmt.Errorf("network id %d (network %s): %w", n.ID, o.Name, ErrExists)
	case o.VNI == n.VNI:
		return fmt.Errorf("VNI %d (network %s): %w", n.VNI, o.Name, ErrExists)
	}
	return nil
}
