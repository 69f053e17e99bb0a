package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ebpfnet/ebpfnet/api"
)

// Local is the embedded single-host Store: one bbolt file (the B+tree store behind etcd and
// containerd) with ACID, fsync'ed transactions. bbolt's exclusive file lock also makes a
// second agent on the same state directory fail fast.
type Local struct {
	db *bolt.DB
}

var (
	bucketEndpoints  = []byte("endpoints")
	bucketPeers      = []byte("peers")
	bucketIdentities = []byte("identities")
	keyNextIdentity  = []byte("\x00next")
)

// ErrLocked means another process (normally a running agent) holds the state file.
var ErrLocked = errors.New("state file is locked by another ebpfnet agent")

// OpenLocal opens (creating) dir/state.db. Errors wrap ErrLocked when another agent has it.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := filepath.Join(dir, "state.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEndpoints, bucketPeers, bucketIdentities, bucketNetworks, bucketServices, bucketSlices} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init state %s: %w", path, err)
	}
	return &Local{db: db}, nil
}

// Path is the state file's path.
func (l *Local) Path() string { return l.db.Path() }

// Close releases the file and its lock.
func (l *Local) Close() error { return l.db.Close() }

func list[T any](db *bolt.DB, bucket []byte) ([]T, error) {
	var out []T
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var item T
			if err := json.Unmarshal(v, &item); err != nil {
				return fmt.Errorf("decode %s/%s: %w", bucket, k, err)
			}
			out = append(out, item)
			return nil
		})
	})
	return out, err
}

func put(db *bolt.DB, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), data) })
}

func del(db *bolt.DB, bucket []byte, key string) error {
	return db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(key)) == nil {
			return fmt.Errorf("%s %q: %w", bucket, key, ErrNotFound)
		}
		return b.Delete([]byte(key))
	})
}

// Endpoints lists stored endpoints ordered by name.
func (l *Local) Endpoints(ctx context.Context) ([]api.Endpoint, error) {
	return list[api.Endpoint](l.db, bucketEndpoints)
}

// PutEndpoint stores ep under its name.
func (l *Local) PutEndpoint(ctx context.Context, ep api.Endpoint) error {
	return put(l.db, bucketEndpoints, ep.Name, ep)
}

// DeleteEndpoint removes the named endpoint; ErrNotFound if absent.
func (l *Local) DeleteEndpoint(ctx context.Context, name string) error {
	return del(l.db, bucketEndpoints, name)
}

// Peers lists stored peers ordered by CIDR text.
func (l *Local) Peers(ctx context.Context) ([]api.Peer, error) {
	return list[api.Peer](l.db, bucketPeers)
}

// PutPeer stores p under its CIDR.
func (l *Local) PutPeer(ctx context.Context, p api.Peer) error {
	return put(l.db, bucketPeers, p.CIDR.String(), p)
}

// DeletePeer removes the peer of cidr; ErrNotFound if absent.
func (l *Local) DeletePeer(ctx context.Context, cidr netip.Prefix) error {
	return del(l.db, bucketPeers, cidr.String())
}

// Identity returns labelsKey's identity, allocating the next one atomically on first use.
func (l *Local) Identity(ctx context.Context, labelsKey string) (uint32, error) {
	var id uint32
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdentities)
		if v := b.Get([]byte("=" + labelsKey)); v != nil {
			id = binary.BigEndian.Uint32(v)
			return nil
		}
		id = FirstIdentity
		if v := b.Get(keyNextIdentity); v != nil {
			id = binary.BigEndian.Uint32(v)
		}
		next := binary.BigEndian.AppendUint32(nil, id+1)
		if err := b.Put(keyNextIdentity, next); err != nil {
			return err
		}
		return b.Put([]byte("="+labelsKey), binary.BigEndian.AppendUint32(nil, id))
	})
	return id, err
}
