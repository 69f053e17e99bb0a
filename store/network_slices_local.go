package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ebpfnet/ebpfnet/api"
)

// bucketSlices holds this node's slices of networks: <cidr> -> api.NetworkSlice JSON.
var bucketSlices = []byte("slices")

// NetworkSlice returns this node's /bits slice of a network's subnet, taking one on first
// use: the slice holding hint (the first endpoint's address, so a host of a static-peer
// cluster keeps the slice it was given) when valid, else the first slice; in both cases only
// one that overlaps no static peer (another host's). grace is unused (no other node).
// Errors: bad arguments, ErrCIDRTaken (wrapped) when every slice overlaps a peer.
func (l *Local) NetworkSlice(ctx context.Context, within netip.Prefix, bits int, hint netip.Addr, _ time.Duration) (netip.Prefix, error) {
	n, err := podCIDRCount(within, bits)
	if err != nil {
		return netip.Prefix{}, err
	}
	peers, err := l.Peers(ctx)
	if err != nil {
		return netip.Prefix{}, err
	}
	free := func(p netip.Prefix) bool {
		for _, q := range peers {
			if q.CIDR.Overlaps(p) {
				return false
			}
		}
		return true
	}
	var out netip.Prefix
	err = l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSlices)
		err := b.ForEach(func(k, _ []byte) error {
			if p, err := netip.ParsePrefix(string(k)); err == nil && within.Contains(p.Addr()) {
				out = p
			}
			return nil
		})
		if err != nil || out.IsValid() {
			return err
		}
		if hint.IsValid() && within.Contains(hint) && free(netip.PrefixFrom(hint, bits).Masked()) {
			out = netip.PrefixFrom(hint, bits).Masked()
		}
		for i := 0; i < n && !out.IsValid(); i++ {
			if p := subnet(within, bits, i); free(p) {
				out = p
			}
		}
		if !out.IsValid() {
			return fmt.Errorf("no /%d of %s overlaps no peer: %w", bits, within, ErrCIDRTaken)
		}
		data, err := json.Marshal(api.NetworkSlice{CIDR: out, Self: true})
		if err != nil {
			return err
		}
		return b.Put([]byte(out.String()), data)
	})
	return out, err
}

// NetworkSlices lists this node's slices of networks, ordered by address.
func (l *Local) NetworkSlices(ctx context.Context) ([]api.NetworkSlice, error) {
	out, err := list[api.NetworkSlice](l.db, bucketSlices)
	sortSlices(out)
	return out, err
}

// deleteSlices removes this node's slices inside subnet (tx of DeleteNetwork).
func deleteSlices(tx *bolt.Tx, subnet netip.Prefix) error {
	b := tx.Bucket(bucketSlices)
	var gone [][]byte
	err := b.ForEach(func(k, _ []byte) error {
		if p, err := netip.ParsePrefix(string(k)); err == nil && subnet.Contains(p.Addr()) {
			gone = append(gone, k)
		}
		return nil
	})
	for _, k := range gone {
		if err == nil {
			err = b.Delete(k)
		}
	}
	return err
}
