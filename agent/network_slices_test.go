package agent

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// fakeNetns is a file standing in for a container's netns path (parseEndpoint only stats it).
func fakeNetns(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "netns")
	require.NoError(t, os.WriteFile(p, nil, 0o600))
	return p
}

// TestEndpointAddressFromSlice: a network's endpoints on a node take their addresses from
// the node's slice (the first endpoint's address picks it with the local store): an explicit
// one is checked against it, none gets the next free one; the gateway is the slice's first
// address; `network inspect` shows the slice and the ipcache drops the rest of it.
func TestEndpointAddressFromSlice(t *testing.T) {
	a := networkAgent(t)
	a.dmaps.ipcache = newFakeIPCache()
	ctx := t.Context()
	_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16"})
	require.NoError(t, err)
	netns := fakeNetns(t)
	add := func(name, ip string) (api.Endpoint, addressPool, error) {
		ep, _, pool, err := a.parseEndpoint(ctx, api.EndpointRequest{Name: name, Netns: netns, IfName: name, IP: ip, Network: "front"})
		if err == nil {
			ep.HostIP = a.node.UnderlayIP
			require.NoError(t, a.store.PutEndpoint(ctx, ep))
		}
		return ep, pool, err
	}
	f1, pool, err := add("f1", "10.43.1.5")
	require.NoError(t, err)
	require.Equal(t, netip.MustParsePrefix("10.43.1.0/24"), pool.Pool)
	require.Equal(t, netip.MustParseAddr("10.43.1.1"), pool.Gateway)
	require.Equal(t, "front", f1.Network)
	for _, want := range []string{"10.43.1.2", "10.43.1.3", "10.43.1.4", "10.43.1.6"} {
		ep, _, err := add("f"+want[len(want)-1:]+"x", "")
		require.NoError(t, err)
		require.Equal(t, want, ep.IP.String(), "the next free address of the slice")
	}
	for ip, want := range map[string]string{
		"10.43.2.5":   "IP 10.43.2.5 is outside this node's slice 10.43.1.0/24 of network front",
		"10.43.1.1":   "IP 10.43.1.1 is reserved in 10.43.1.0/24 (network, gateway 10.43.1.1 or broadcast address)",
		"10.43.1.255": "IP 10.43.1.255 is reserved in 10.43.1.0/24",
		"10.44.1.2":   "IP 10.44.1.2 is outside the subnet 10.43.0.0/16 of network front",
	} {
		_, _, err := add("bad", ip)
		require.ErrorIs(t, err, api.ErrInvalid, ip)
		require.ErrorContains(t, err, want)
	}
	info, err := a.Network(ctx, "front")
	require.NoError(t, err)
	require.Equal(t, []api.NetworkSlice{{CIDR: pool.Pool, Self: true}}, info.Slices)
	require.NoError(t, a.reconcileIPCache(ctx))
	require.Equal(t, maps.Route{Prefix: pool.Pool}, a.dmaps.ipcache.(fakeIPCache).Entry(pool.Pool), "own slice: drop, not tunnel")
}

// TestUpgradedNodeSlice: a node with an endpoint on a network from before slices takes the
// slice holding it when it allocates one without a requested address.
func TestUpgradedNodeSlice(t *testing.T) {
	a := networkAgent(t, api.Endpoint{Name: "old1", IP: netip.MustParseAddr("10.43.5.9"), Network: "front"})
	ctx := t.Context()
	_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16"})
	require.NoError(t, err)
	ep, _, pool, err := a.parseEndpoint(ctx, api.EndpointRequest{Name: "new1", Netns: fakeNetns(t), Network: "front"})
	require.NoError(t, err)
	require.Equal(t, "10.43.5.0/24", pool.Pool.String())
	require.Equal(t, "10.43.5.2", ep.IP.String())
}

// TestDefaultNetworkIPAM: without --ip a default-network endpoint gets the next free address
// of the node's pod CIDR, and without a pod CIDR a clear refusal.
func TestDefaultNetworkIPAM(t *testing.T) {
	a := networkAgent(t, api.Endpoint{Name: "old1", IP: netip.MustParseAddr("10.42.1.2")})
	ctx := t.Context()
	req := api.EndpointRequest{Name: "d1", Netns: fakeNetns(t)}
	_, _, _, err := a.parseEndpoint(ctx, req)
	require.ErrorIs(t, err, api.ErrInvalid)
	require.ErrorContains(t, err, "no IP given and this node has no pod CIDR to take one from")
	a.node.PodCIDR, a.node.Gateway = netip.MustParsePrefix("10.42.1.0/24"), netip.MustParseAddr("10.42.1.1")
	ep, _, pool, err := a.parseEndpoint(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "10.42.1.3", ep.IP.String())
	require.Equal(t, a.node.Gateway, pool.Gateway)
}

// TestNetworkNoFreeSlice: a network whose every slice is taken (here by a static peer) refuses
// a node's first endpoint with an error naming the network, and allocates nothing.
func TestNetworkNoFreeSlice(t *testing.T) {
	a := networkAgent(t)
	ctx := t.Context()
	_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "tiny", Subnet: "10.45.0.0/24", NodePrefixLen: 24})
	require.NoError(t, err)
	require.NoError(t, a.store.PutPeer(ctx, api.Peer{CIDR: netip.MustParsePrefix("10.45.0.0/24"), HostIP: netip.MustParseAddr("172.31.0.2")}))
	_, _, _, err = a.parseEndpoint(ctx, api.EndpointRequest{Name: "t1", Netns: fakeNetns(t), Network: "tiny"})
	require.ErrorIs(t, err, api.ErrFull)
	require.ErrorContains(t, err, "network tiny: no free /24 slice of its subnet 10.45.0.0/24 for this node")
	all, err := a.store.NetworkSlices(ctx)
	require.NoError(t, err)
	require.Empty(t, all)
}

// TestRemoteEndpointRoutesPerSlice: every remote endpoint gets a /32 with its identity (the
// sender's policy and a native receiver need it), routed via its own host: one inside its
// host's slice, one created before slices, and one sitting in another host's later slice;
// endpoints of no known peer get none.
func TestRemoteEndpointRoutesPerSlice(t *testing.T) {
	b, c := netip.MustParseAddr("172.31.0.2"), netip.MustParseAddr("172.31.0.3")
	peers := []api.Peer{
		{CIDR: netip.MustParsePrefix("10.42.2.0/24"), HostIP: b},
		{CIDR: netip.MustParsePrefix("10.42.3.0/24"), HostIP: c},
		{CIDR: netip.MustParsePrefix("10.43.1.0/24"), HostIP: b},
	}
	ep := func(ip string, network string, host netip.Addr, id uint32) api.Endpoint {
		return api.Endpoint{Name: ip, IP: netip.MustParseAddr(ip), Network: network, HostIP: host, Identity: id}
	}
	got := remoteEndpointRoutes([]api.Endpoint{
		ep("10.42.2.5", "", b, 300),                                     // default network: /32 with its identity
		ep("10.43.1.5", "front", b, 301),                                // in b's slice: /32 via b
		ep("10.43.0.20", "front", c, 302),                               // from before slices: /32 via c
		ep("10.43.1.9", "front", c, 303),                                // c's, inside b's slice: /32 via c
		ep("10.44.0.9", "back", netip.MustParseAddr("172.31.0.9"), 304), // no known peer
	}, peers)
	require.Equal(t, []maps.Route{
		{Prefix: netip.MustParsePrefix("10.42.2.5/32"), TunnelEndpoint: b, Identity: 300},
		{Prefix: netip.MustParsePrefix("10.43.1.5/32"), TunnelEndpoint: b, Identity: 301},
		{Prefix: netip.MustParsePrefix("10.43.0.20/32"), TunnelEndpoint: c, Identity: 302},
		{Prefix: netip.MustParsePrefix("10.43.1.9/32"), TunnelEndpoint: c, Identity: 303},
	}, got)
}
