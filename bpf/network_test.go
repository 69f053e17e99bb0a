package bpf_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
)

// Networks of the fixture beside the default one (10.42.0.0/16, VNI 1042): front
// (10.43.0.0/16, VNI 4096) with local endpoints f1 and f2 and a remote /24 on the peer, and
// the --internal network back (10.44.0.0/16, VNI 4097) with local endpoint b1.
var (
	frontNet = maps.Network{ID: 1, Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: 4096, HostPorts: true}
	backNet  = maps.Network{ID: 2, Subnet: netip.MustParsePrefix("10.44.0.0/16"), VNI: 4097, Internal: true}
	f1IP     = netip.MustParseAddr("10.43.1.2")
	f2IP     = netip.MustParseAddr("10.43.1.3")
	b1IP     = netip.MustParseAddr("10.44.1.2")
	frontRem = netip.MustParseAddr("10.43.2.5") // a front endpoint on the peer host
	f1MAC    = net.HardwareAddr{0x02, 0, 0, 0, 0x02, 0x02}
	f2MAC    = net.HardwareAddr{0x02, 0, 0, 0, 0x02, 0x03}
	b1MAC    = net.HardwareAddr{0x02, 0, 0, 0, 0x03, 0x02}
)

// networkFixture is the fixture with the two networks, their endpoints on lxc3 (f1), lxc4
// (f2) and lxc5 (b1), and the peer's front /24 in the ipcache.
func networkFixture(t *testing.T) (*fixture, [3]int) {
	f := newFixture(t)
	h, err := netlink.NewHandleAt(f.ns)
	require.NoError(t, err)
	defer h.Close()
	var idx [3]int
	for i, name := range []string{"lxc3", "lxc4", "lxc5"} {
		idx[i] = addVeth(t, h, name, routerMAC)
	}
	require.NoError(t, f.m.Networks.Put(maps.Network{ID: 0, VNI: testVNI, HostNAT: true, HostPorts: true}))
	require.NoError(t, f.m.Networks.Put(frontNet))
	require.NoError(t, f.m.Networks.Put(backNet))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: f1IP, IfIndex: idx[0], MAC: f1MAC, Identity: 300}))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: f2IP, IfIndex: idx[1], MAC: f2MAC, Identity: 301}))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: b1IP, IfIndex: idx[2], MAC: b1MAC, Identity: 302}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.43.2.0/24"), TunnelEndpoint: peerIP, Identity: 3}))
	return f, idx
}

// TestNetworkIsolationFromContainer: within a network packets are forwarded (locally, or
// encapsulated with the network's VNI); between networks, and from an --internal network to
// anything outside it, they are dropped with their reasons.
func TestNetworkIsolationFromContainer(t *testing.T) {
	f, idx := networkFixture(t)
	lxc3, lxc5 := idx[0], idx[2]
	frontGW := netip.MustParseAddr("10.43.0.1")
	f.runCases(t, f.dp.Programs().FromContainer, []tcCase{
		{
			name: "front to front, same host: delivered", ifindex: lxc3,
			in: icmpEcho(t, f1MAC, routerMAC, f1IP, f2IP, 64), verdict: tcActRedirect,
			want: icmpEcho(t, routerMAC, f2MAC, f1IP, f2IP, 63), metric: bpf.DatapathMetricMETRIC_FWD_LOCAL,
		},
		{
			name: "front to default endpoint: cross-network drop", ifindex: lxc3,
			in: icmpEcho(t, f1MAC, routerMAC, f1IP, c2IP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "default to front endpoint: cross-network drop", ifindex: f.lxc1,
			in: icmpEcho(t, c1MAC, routerMAC, c1IP, f1IP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "default to a remote front address: cross-network drop", ifindex: f.lxc1,
			in: icmpEcho(t, c1MAC, routerMAC, c1IP, frontRem, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "back to front: cross-network drop", ifindex: lxc5,
			in: icmpEcho(t, b1MAC, routerMAC, b1IP, f1IP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "internal back to outside: dropped", ifindex: lxc5,
			in: icmpEcho(t, b1MAC, routerMAC, b1IP, outsideIP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_INTERNAL_NETWORK,
		},
		{
			name: "internal back to its host's underlay address: dropped", ifindex: lxc5,
			in: icmpEcho(t, b1MAC, routerMAC, b1IP, underlayIP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_INTERNAL_NETWORK,
		},
		{
			name: "front to outside: to the host (no host NAT on f1)", ifindex: lxc3,
			in: icmpEcho(t, f1MAC, routerMAC, f1IP, outsideIP, 64), verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST,
		},
		{
			name: "ARP for front's gateway answered", ifindex: lxc3,
			in: arpRequest(t, f1MAC, f1IP, frontGW), verdict: tcActRedirect,
			want: arpReply(t, routerMAC, f1MAC, frontGW, f1IP), metric: bpf.DatapathMetricMETRIC_ARP_REPLY,
		},
	})

	t.Run("front to remote front: VXLAN with front's VNI", func(t *testing.T) {
		verdict, out := f.run(t, f.dp.Programs().FromContainer, lxc3, icmpEcho(t, f1MAC, routerMAC, f1IP, frontRem, 64))
		require.Equal(t, uint32(tcActRedirect), verdict)
		p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
		vx, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		require.True(t, ok, "a VXLAN frame")
		require.Equal(t, frontNet.VNI, vx.VNI)
		require.Equal(t, uint16(300), vx.GBPGroupPolicyID, "f1's identity")
	})
	t.Run("default to remote default: VXLAN with the node's VNI", func(t *testing.T) {
		verdict, out := f.run(t, f.dp.Programs().FromContainer, f.lxc1, icmpEcho(t, c1MAC, routerMAC, c1IP, netip.MustParseAddr("10.42.2.5"), 64))
		require.Equal(t, uint32(tcActRedirect), verdict)
		vx, ok := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		require.True(t, ok)
		require.Equal(t, uint32(testVNI), vx.VNI)
	})
}

// TestNetworkIsolationFromOverlay: the receiver accepts a VNI only when it names a network
// holding both inner addresses.
func TestNetworkIsolationFromOverlay(t *testing.T) {
	f, _ := networkFixture(t)
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	vx := func(vni uint32, src, dst netip.Addr) []byte {
		return vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, vni, 0, icmpEcho(t, peerVTEPMAC, routerMAC, src, dst, 63))
	}
	remoteDefault := netip.MustParseAddr("10.42.2.5")
	f.runCases(t, f.dp.Programs().FromOverlay, []tcCase{
		{
			name: "front VNI, front to front: delivered", in: vx(frontNet.VNI, frontRem, f1IP), verdict: tcActRedirect,
			want: icmpEcho(t, routerMAC, f1MAC, frontRem, f1IP, 63), metric: bpf.DatapathMetricMETRIC_FWD_DECAP,
		},
		{
			name: "default VNI, default to default: delivered", in: vx(testVNI, remoteDefault, c1IP), verdict: tcActRedirect,
			want: icmpEcho(t, routerMAC, c1MAC, remoteDefault, c1IP, 63), metric: bpf.DatapathMetricMETRIC_FWD_DECAP,
		},
		{
			name: "front VNI to a default endpoint: cross-network drop", in: vx(frontNet.VNI, frontRem, c1IP),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "default VNI carrying front addresses: cross-network drop", in: vx(testVNI, frontRem, f1IP),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "back VNI carrying front addresses: cross-network drop", in: vx(backNet.VNI, frontRem, f1IP),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "front VNI, default source to front endpoint: cross-network drop", in: vx(frontNet.VNI, remoteDefault, f1IP),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "unknown VNI: dropped", in: vx(5555, frontRem, f1IP), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_BAD_VNI,
		},
	})

	// A removed network's VNI is unknown again.
	require.NoError(t, f.m.Networks.DeleteVNI(frontNet.VNI))
	f.runCases(t, f.dp.Programs().FromOverlay, []tcCase{{
		name: "removed network's VNI: dropped", in: vx(frontNet.VNI, frontRem, f1IP), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_BAD_VNI,
	}})
}
