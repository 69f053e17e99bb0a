package store

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
)

// A network's node slices are pod CIDR allocations like the default network's (cidrs/<cidr>,
// see AllocatePodCIDR): the subnets of networks never overlap each other or the cluster CIDR,
// so one key space holds them all, they are claimed in the same transactions and released
// with their node after the same grace period.

// NetworkSlice returns this node's /bits slice of a network's subnet, allocating the lowest
// free (or reusable) one on first use (AllocatePodCIDR); hint is ignored (the cluster decides).
// Errors: ErrCIDRTaken (wrapped) when no slice is free, ErrUnavailable.
func (s *Etcd) NetworkSlice(ctx context.Context, subnet netip.Prefix, bits int, _ netip.Addr, grace time.Duration) (netip.Prefix, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.AllocatePodCIDR(ctx, subnet, bits, grace)
}

// NetworkSlices lists every pod CIDR allocation of the cluster (cidrs/: the nodes' pod CIDRs
// of the cluster CIDR and their slices of networks), ordered by address.
func (s *Etcd) NetworkSlices(ctx context.Context) ([]api.NetworkSlice, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.NetworkSlice, 0, len(snap.records))
	for p, e := range snap.records {
		out = append(out, api.NetworkSlice{Node: e.rec.Node, CIDR: p, Self: e.rec.Node == s.node})
	}
	sortSlices(out)
	return out, nil
}

// sortSlices orders slices by address.
func sortSlices(out []api.NetworkSlice) {
	slices.SortFunc(out, func(a, b api.NetworkSlice) int { return a.CIDR.Addr().Compare(b.CIDR.Addr()) })
}
