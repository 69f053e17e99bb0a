package agent

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// inUnderlayNetns runs fn on a thread in a new netns (testbed) with underlay device ul0 (a
// veth, 172.31.0.1/24, so 172.31.0.0/24 is on-link) and a route to 192.168.77.0/24 via the
// gateway 172.31.0.2 (off-link peers).
func inUnderlayNetns(t *testing.T, fn func()) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (netns)")
	}
	bed, err := testbed.New(testbed.UniquePrefix("an"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bed.Close()) })
	_, err = bed.Netns("h")
	require.NoError(t, err)
	require.NoError(t, bed.InNetns("h", func() error {
		la := netlink.NewLinkAttrs()
		la.Name = "ul0"
		require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "ul0p"}))
		ul, err := netlink.LinkByName("ul0")
		require.NoError(t, err)
		require.NoError(t, netlink.LinkSetUp(ul))
		require.NoError(t, netlink.AddrAdd(ul, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(172, 31, 0, 1), Mask: net.CIDRMask(24, 32)}}))
		require.NoError(t, netlink.RouteAdd(&netlink.Route{LinkIndex: ul.Attrs().Index,
			Dst: &net.IPNet{IP: net.IPv4(192, 168, 77, 0), Mask: net.CIDRMask(24, 32)}, Gw: net.IPv4(172, 31, 0, 2)}))
		fn()
		return nil
	}))
}

// TestNativeNetworkOnLink: a native network is created while every peer host is on-link and
// gets the datapath's NATIVE flag; an off-link peer host refuses its creation (nothing
// stored) and, once a native network exists, its `peer add`; encryption refuses it.
func TestNativeNetworkOnLink(t *testing.T) {
	inUnderlayNetns(t, func() {
		a := networkAgent(t)
		a.cfg.UnderlayDev = "ul0"
		ctx := t.Context()
		off := netip.MustParseAddr("192.168.77.2")
		require.NoError(t, a.store.PutPeer(ctx, api.Peer{CIDR: netip.MustParsePrefix("10.42.3.0/24"), HostIP: off}))
		_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "nat1", Subnet: "10.45.0.0/16", Mode: "native"})
		require.ErrorIs(t, err, api.ErrConflict)
		require.EqualError(t, err, "network nat1: --mode native needs every peer host on the underlay's L2 segment: peer host 192.168.77.2 is not on-link: routed via gateway 172.31.0.2")
		nets, err := a.store.Networks(ctx)
		require.NoError(t, err)
		require.Empty(t, nets, "nothing stored")
		require.Empty(t, a.dmaps.networks.(*fakeNetworks).byID, "nothing written")

		require.NoError(t, a.store.DeletePeer(ctx, netip.MustParsePrefix("10.42.3.0/24")))
		require.NoError(t, a.store.PutPeer(ctx, api.Peer{CIDR: netip.MustParsePrefix("10.42.2.0/24"), HostIP: netip.MustParseAddr("172.31.0.2")}))
		n, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "nat1", Subnet: "10.45.0.0/16", Mode: "native"})
		require.NoError(t, err)
		require.Equal(t, api.NetworkModeNative, n.Mode)
		require.Equal(t, maps.Network{ID: 1, Subnet: n.Subnet, VNI: FirstNetworkVNI, HostNAT: true, HostPorts: true, Native: true}, a.dmaps.networks.(*fakeNetworks).byID[1])

		all, err := a.networks(ctx)
		require.NoError(t, err)
		require.NoError(t, a.checkNativePeer(netip.MustParseAddr("172.31.0.3"), all))
		err = a.checkNativePeer(off, all)
		require.ErrorIs(t, err, api.ErrConflict)
		require.EqualError(t, err, "peer host 192.168.77.2 is not on-link: routed via gateway 172.31.0.2; native network nat1 routes to every peer host without encapsulation")
		require.NoError(t, a.checkNativePeer(off, all[:1]), "no native network: any peer host")

		require.NoError(t, a.store.PutPeer(ctx, api.Peer{CIDR: netip.MustParsePrefix("10.42.3.0/24"), HostIP: off}))
		warn, err := a.offLinkPeers(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"peer host 192.168.77.2 is not on-link: routed via gateway 172.31.0.2"}, warn)

		a.cfg.Encryption = EncryptionWireGuard
		_, err = a.CreateNetwork(ctx, api.NetworkRequest{Name: "nat2", Subnet: "10.46.0.0/16", Mode: "native"})
		require.ErrorIs(t, err, api.ErrUnsupported)
	})
}
