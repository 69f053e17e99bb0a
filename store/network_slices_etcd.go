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

// NetworkSlice returns this node's /bits slice of a network's subnet, allocating one on first
// use: the slice holding hint (the address of the node's first endpoint there) when it is
// free or reusable, else the lowest free or reusable one (AllocatePodCIDR, whose transactions
// and grace period it shares). Errors: ErrCIDRTaken (wrapped) when no slice is free,
// ErrUnavailable.
func (s *Etcd) NetworkSlice(ctx context.Context, subnet netip.Prefix, bits int, hint netip.Addr, grace time.Duration) (netip.Prefix, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := podCIDRCount(subnet, bits); err != nil {
		return netip.Prefix{}, err
	}
	if hint.IsValid() && subnet.Contains(hint) {
		if p, ok, err := s.claimSlice(ctx, subnet, netip.PrefixFrom(hint, bits).Masked(), grace); err != nil || ok {
			return p, err
		}
	}
	return s.AllocatePodCIDR(ctx, subnet, bits, grace)
}

// claimSlice takes slice p of subnet for this node if the node has no slice of subnet yet and
// p is free or reusable (no other node's allocation overlaps it); ok reports that it did.
func (s *Etcd) claimSlice(ctx context.Context, subnet, p netip.Prefix, grace time.Duration) (netip.Prefix, bool, error) {
	for range maxAttempts {
		snap, err := s.snapshot(ctx)
		if err != nil {
			return netip.Prefix{}, false, err
		}
		if _, ok := snap.own(s.node, subnet); ok {
			return netip.Prefix{}, false, nil // AllocatePodCIDR returns it
		}
		if _, _, blocked := snap.blocked(p, s.node); blocked {
			return netip.Prefix{}, false, nil
		}
		st := snap.state(p, s.node, grace, time.Now())
		if st != cidrFree && st != cidrReusable {
			return netip.Prefix{}, false, nil
		}
		ok, err := s.take(ctx, snap, p, st)
		if err != nil || ok {
			return p, ok, err
		}
	}
	return netip.Prefix{}, false, nil
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
