package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

var front16 = api.Network{Name: "front", ID: 1, Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: 4096, Mode: api.NetworkModeVXLAN}

// TestEtcdNetworkSlices: nodes get different slices of a network (the hint's when free, else
// the lowest free; the same one again on the next call), another live node's slice is one of
// the peers (n3 is not registered: its slice routes nowhere), the allocations are
// listed with their node, a full subnet is refused with ErrCIDRTaken, and removing the
// network releases its slices.
func TestEtcdNetworkSlices(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	n1, n2 := openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2")
	ctx := t.Context()
	require.NoError(t, n1.CreateNetwork(ctx, front16))
	r1, _ := join(t, n1, 1, 5*time.Second)
	r2, _ := join(t, n2, 2, 5*time.Second)

	s1, err := n1.NetworkSlice(ctx, front16.Subnet, 24, netip.Addr{}, time.Minute)
	require.NoError(t, err)
	s2, err := n2.NetworkSlice(ctx, front16.Subnet, 24, netip.MustParseAddr("10.43.0.9"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, "10.43.0.0/24", s1.String())
	require.Equal(t, "10.43.1.0/24", s2.String(), "the hint's slice is n1's: the lowest free one")
	again, err := n1.NetworkSlice(ctx, front16.Subnet, 24, netip.MustParseAddr("10.43.9.1"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, s1, again, "a node keeps its slice, whatever the hint")
	n3 := openNode(t, e, prefix, "n3")
	s3, err := n3.NetworkSlice(ctx, front16.Subnet, 24, netip.MustParseAddr("10.43.7.9"), time.Minute)
	require.NoError(t, err)
	require.Equal(t, "10.43.7.0/24", s3.String(), "the free slice of the hint")

	require.Equal(t, []string{r2.PodCIDR.String() + "@172.31.0.2", "10.43.1.0/24@172.31.0.2"}, peerCIDRs(t, n1))
	require.Equal(t, []string{r1.PodCIDR.String() + "@172.31.0.1", "10.43.0.0/24@172.31.0.1"}, peerCIDRs(t, n2))
	all, err := n2.NetworkSlices(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.NetworkSlice{
		{Node: "n1", CIDR: r1.PodCIDR}, {Node: "n2", CIDR: r2.PodCIDR, Self: true},
		{Node: "n1", CIDR: s1}, {Node: "n2", CIDR: s2, Self: true}, {Node: "n3", CIDR: s3},
	}, all)

	tiny := netip.MustParsePrefix("10.44.0.0/24")
	_, err = n1.NetworkSlice(ctx, tiny, 24, netip.Addr{}, time.Minute)
	require.NoError(t, err)
	_, err = n2.NetworkSlice(ctx, tiny, 24, netip.Addr{}, time.Minute)
	require.ErrorIs(t, err, ErrCIDRTaken)
	require.ErrorContains(t, err, "no free /24 in cluster CIDR 10.44.0.0/24")

	require.NoError(t, n2.DeleteNetwork(ctx, "front"))
	require.Equal(t, []string{r2.PodCIDR.String() + "@172.31.0.2"}, peerCIDRs(t, n1), "the slices left with their network")
	all, err = n1.NetworkSlices(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3, "the pod CIDRs and the other network's slice stay")
	_, err = n1.NetworkSlice(ctx, front16.Subnet, 12, netip.Addr{}, time.Minute)
	require.ErrorContains(t, err, "pod CIDR size /12: want /16 (the cluster CIDR) to /30")
}

// TestLocalNetworkSlices: with bbolt the node takes the slice of its first endpoint's
// address, else the first slice, never one overlapping a static peer; keeps it; and loses it
// with the network.
func TestLocalNetworkSlices(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	require.NoError(t, s.CreateNetwork(ctx, front16))
	got, err := s.NetworkSlice(ctx, front16.Subnet, 24, netip.MustParseAddr("10.43.2.7"), 0)
	require.NoError(t, err)
	require.Equal(t, "10.43.2.0/24", got.String(), "the slice of the hint")
	got, err = s.NetworkSlice(ctx, front16.Subnet, 24, netip.MustParseAddr("10.43.9.7"), 0)
	require.NoError(t, err)
	require.Equal(t, "10.43.2.0/24", got.String(), "kept")

	back := netip.MustParsePrefix("10.44.0.0/16")
	require.NoError(t, s.PutPeer(ctx, api.Peer{CIDR: netip.MustParsePrefix("10.44.0.0/23"), HostIP: netip.MustParseAddr("172.31.0.2")}))
	got, err = s.NetworkSlice(ctx, back, 24, netip.MustParseAddr("10.44.1.3"), 0)
	require.NoError(t, err)
	require.Equal(t, "10.44.2.0/24", got.String(), "the hint's slice and the first are a peer's: the first free one")
	_, err = s.NetworkSlice(ctx, netip.MustParsePrefix("10.44.0.0/24"), 24, netip.Addr{}, 0)
	require.ErrorIs(t, err, ErrCIDRTaken)
	_, err = s.NetworkSlice(ctx, front16.Subnet, 8, netip.Addr{}, 0)
	require.ErrorContains(t, err, "want /16 (the cluster CIDR) to /30")

	all, err := s.NetworkSlices(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.NetworkSlice{{CIDR: netip.MustParsePrefix("10.43.2.0/24"), Self: true}, {CIDR: netip.MustParsePrefix("10.44.2.0/24"), Self: true}}, all)
	require.NoError(t, s.DeleteNetwork(ctx, "front"))
	all, err = s.NetworkSlices(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.NetworkSlice{{CIDR: netip.MustParsePrefix("10.44.2.0/24"), Self: true}}, all)
}
