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

// The native network of the fixture: 10.45.0.0/16 with local endpoint n1 (identity 310) on
// lxc6, its /24 on the peer (on-link, identity 311), a /24 on an off-link peer (routed via a
// gateway on the underlay), and a /24 whose tunnel endpoint is an underlay address that is
// no cluster host.
var (
	nativeNet    = maps.Network{ID: 3, Subnet: netip.MustParsePrefix("10.45.0.0/16"), VNI: 4098, Native: true}
	n1IP         = netip.MustParseAddr("10.45.1.2")
	n1MAC        = net.HardwareAddr{0x02, 0, 0, 0, 0x04, 0x02}
	nativeRem    = netip.MustParseAddr("10.45.2.5") // on the on-link peer
	nativeFar    = netip.MustParseAddr("10.45.3.5") // on the off-link peer
	nativeStray  = netip.MustParseAddr("10.45.4.5") // "owned" by an underlay address that is no peer
	offLinkPeer  = netip.MustParseAddr("192.168.77.2")
	strayHost    = netip.MustParseAddr("172.31.0.50")
	nativeRemID  = uint32(311)
	nativeLocaID = uint32(310)
)

// nativeFixture is networkFixture plus the native network: n1 on lxc6 and the ipcache
// routes of the peers' native /24s; the off-link peer is a cluster host reached through the
// on-link peer as gateway.
func nativeFixture(t *testing.T) (*fixture, int) {
	f, _ := networkFixture(t)
	h, err := netlink.NewHandleAt(f.ns)
	require.NoError(t, err)
	defer h.Close()
	lxc6 := addVeth(t, h, "lxc6", routerMAC)
	require.NoError(t, h.RouteAdd(&netlink.Route{
		LinkIndex: f.ul, Dst: &net.IPNet{IP: offLinkPeer.AsSlice(), Mask: net.CIDRMask(32, 32)}, Gw: peerIP.AsSlice(),
	}))
	require.NoError(t, f.m.Networks.Put(nativeNet))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: n1IP, IfIndex: lxc6, MAC: n1MAC, Identity: nativeLocaID}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.45.1.0/24")}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.45.2.0/24"), TunnelEndpoint: peerIP, Identity: nativeRemID}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.45.3.0/24"), TunnelEndpoint: offLinkPeer, Identity: nativeRemID}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.45.4.0/24"), TunnelEndpoint: strayHost, Identity: nativeRemID}))
	require.NoError(t, f.m.Peers.Put(maps.Peer{IP: offLinkPeer}))
	return f, lxc6
}

// TestNativeFromContainer: a native network's packet to its peer host leaves routed, not
// encapsulated (the underlay's and the peer's MACs, TTL-1, forward_native); a peer that is
// not on-link is no route; the network stays isolated from the others.
func TestNativeFromContainer(t *testing.T) {
	f, lxc6 := nativeFixture(t)
	f.runCases(t, f.dp.Programs().FromContainer, []tcCase{
		{
			name: "to the on-link peer: routed natively", ifindex: lxc6,
			in: icmpEcho(t, n1MAC, routerMAC, n1IP, nativeRem, 64), verdict: tcActRedirect,
			want: icmpEcho(t, f.underlayMAC, peerMAC, n1IP, nativeRem, 63), metric: bpf.DatapathMetricMETRIC_FWD_NATIVE,
		},
		{
			name: "to the off-link peer: no route", ifindex: lxc6,
			in: icmpEcho(t, n1MAC, routerMAC, n1IP, nativeFar, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_NO_ROUTE,
		},
		{
			name: "TTL 1: exceeded", ifindex: lxc6,
			in: icmpEcho(t, n1MAC, routerMAC, n1IP, nativeRem, 1), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TTL_EXCEEDED,
		},
		{
			name: "to a front endpoint: cross-network drop", ifindex: lxc6,
			in: icmpEcho(t, n1MAC, routerMAC, n1IP, f1IP, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "default endpoint to a remote native address: cross-network drop", ifindex: f.lxc1,
			in: icmpEcho(t, c1MAC, routerMAC, c1IP, nativeRem, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "spoofed source from n1's veth", ifindex: lxc6,
			in: icmpEcho(t, n1MAC, routerMAC, netip.MustParseAddr("10.45.1.9"), nativeRem, 64), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
	})
	t.Run("a VXLAN network's remote destination is still encapsulated", func(t *testing.T) {
		before := f.counters(t)
		verdict, _ := f.run(t, f.dp.Programs().FromContainer, f.lxc1, icmpEcho(t, c1MAC, routerMAC, c1IP, netip.MustParseAddr("10.42.2.5"), 64))
		require.Equal(t, uint32(tcActRedirect), verdict)
		after := f.counters(t)
		require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets+1, after[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)
		require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_NATIVE], after[bpf.DatapathMetricMETRIC_FWD_NATIVE])
	})
}

// TestNativeFromOverlay: the receiver delivers a native network's plain packet only from the
// on-link cluster host that owns its source, with that host's MAC, within the network and as
// policy allows; each attack gets its drop reason.
func TestNativeFromOverlay(t *testing.T) {
	f, _ := nativeFixture(t)
	prog := f.dp.Programs().FromOverlay
	cases := []tcCase{
		{
			name: "from the peer that owns the source: delivered",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, nativeRem, n1IP, 63), verdict: tcActRedirect,
			want: icmpEcho(t, routerMAC, n1MAC, nativeRem, n1IP, 63), metric: bpf.DatapathMetricMETRIC_FWD_NATIVE,
		},
		{
			name: "the peer's source from another MAC (an outside machine on the segment): spoofed",
			in:   icmpEcho(t, outsideMAC, f.underlayMAC, nativeRem, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "a source no host owns: spoofed",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, netip.MustParseAddr("10.45.9.9"), n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "a source of this host's own CIDR: spoofed",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, netip.MustParseAddr("10.45.1.9"), n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "a source owned by an underlay address that is no cluster host: spoofed",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, nativeStray, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "a source of the off-link peer arriving on the segment: spoofed",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, nativeFar, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "a front source: cross-network drop",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, frontRem, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "a default-network source: cross-network drop",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, netip.MustParseAddr("10.42.2.5"), n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK,
		},
		{
			name: "an unknown local address: unknown endpoint",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, nativeRem, netip.MustParseAddr("10.45.1.99"), 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_ENDPOINT,
		},
		{
			name: "plain packet for a VXLAN network's endpoint: left to the host, uncounted",
			in:   icmpEcho(t, peerMAC, f.underlayMAC, frontRem, f1IP, 63), verdict: tcActOK, uncounted: true,
		},
	}
	f.runCases(t, prog, cases)

	t.Run("policy deny of the source's ipcache identity: dropped", func(t *testing.T) {
		enablePolicy(t, f, maps.PolicyEntry{Src: nativeRemID + 1, Dst: nativeLocaID, Allow: true})
		f.runCases(t, prog, []tcCase{{
			name: "denied", in: icmpEcho(t, peerMAC, f.underlayMAC, nativeRem, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_POLICY,
		}})
		enablePolicy(t, f, maps.PolicyEntry{Src: nativeRemID, Dst: nativeLocaID, Allow: true})
		f.runCases(t, prog, []tcCase{{
			name: "allowed by a rule for that identity", in: icmpEcho(t, peerMAC, f.underlayMAC, nativeRem, n1IP, 63), verdict: tcActRedirect,
			want: icmpEcho(t, routerMAC, n1MAC, nativeRem, n1IP, 63), metric: bpf.DatapathMetricMETRIC_FWD_NATIVE,
		}})
	})
}

// TestNativeEncrypted: with encryption on, a native network's packet to a peer host with a
// key crosses as VXLAN (with the network's VNI) into the WireGuard device, never routed in
// clear, and a plain native packet from such a host is dropped as unencrypted.
func TestNativeEncrypted(t *testing.T) {
	f, lxc6 := nativeFixture(t)
	f.withWireGuard(t, true, maps.Peer{IP: peerIP, Encrypt: true})
	before := f.counters(t)
	verdict, out := f.run(t, f.dp.Programs().FromContainer, lxc6, icmpEcho(t, n1MAC, routerMAC, n1IP, nativeRem, 64))
	require.Equal(t, uint32(tcActRedirect), verdict)
	after := f.counters(t)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets+1, after[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_NATIVE], after[bpf.DatapathMetricMETRIC_FWD_NATIVE])
	vx, ok := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
	require.True(t, ok, "a VXLAN frame")
	require.Equal(t, nativeNet.VNI, vx.VNI)

	f.runCases(t, f.dp.Programs().FromOverlay, []tcCase{{
		name: "plain native packet from a host with a key: unencrypted",
		in:   icmpEcho(t, peerMAC, f.underlayMAC, nativeRem, n1IP, 63), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNENCRYPTED,
	}})
}
