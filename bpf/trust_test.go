package bpf_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// TestOverlayTrust: from_overlay decapsulates only VXLAN from a cluster host (peers map) for
// an inner source that host owns (ipcache), and every refusal is a counted drop with an event.
func TestOverlayTrust(t *testing.T) {
	f := newFixture(t)
	ev := f.dropEvents(t)
	prog := f.dp.Programs().FromOverlay
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	otherPeer := netip.MustParseAddr("172.31.0.3")
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.MustParsePrefix("10.42.3.0/24"), TunnelEndpoint: otherPeer, Identity: 3}))
	require.NoError(t, f.m.Peers.Put(maps.Peer{IP: otherPeer}))
	from := func(outer, inner netip.Addr) []byte {
		return vxlanFrame(t, peerMAC, f.underlayMAC, outer, underlayIP, 40000, testVNI, 0,
			udpPacket(t, peerVTEPMAC, routerMAC, inner, 5000, c1IP, 53))
	}
	remote := netip.MustParseAddr("10.42.2.5")

	f.runCases(t, prog, []tcCase{
		{name: "VXLAN from the peer owning the inner source delivered", in: from(peerIP, remote),
			verdict: tcActRedirect, want: udpPacket(t, routerMAC, c1MAC, remote, 5000, c1IP, 53),
			metric: bpf.DatapathMetricMETRIC_FWD_DECAP},
		{name: "VXLAN from a machine that is no cluster host dropped", in: from(outsideIP, remote),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_PEER},
		{name: "inner source of this host's own pod CIDR dropped", in: from(peerIP, c2IP),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE},
		{name: "inner source behind another peer dropped", in: from(peerIP, netip.MustParseAddr("10.42.3.5")),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE},
		{name: "inner source outside the cluster dropped", in: from(peerIP, netip.MustParseAddr("192.0.2.7")),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE},
		{name: "inner source with no ipcache entry dropped", in: from(peerIP, netip.MustParseAddr("10.42.200.1")),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE},
	})

	// The events name the sending machine for an unknown peer and the forged inner source for
	// a spoofed one.
	e := nextDrop(t, ev)
	require.Equal(t, "drop_unknown_peer", maps.MetricName(maps.Metric(e.Reason)))
	require.Equal(t, outsideIP, e.Src)
	e = nextDrop(t, ev)
	require.Equal(t, "drop_spoofed_source", maps.MetricName(maps.Metric(e.Reason)))
	require.Equal(t, c2IP, e.Src)
	require.Equal(t, c1IP, e.Dst)
	require.Equal(t, uint16(53), e.DstPort)

	// A host removed from the peers map is no longer trusted.
	require.NoError(t, f.m.Peers.Delete(peerIP))
	f.runCases(t, prog, []tcCase{{name: "VXLAN from a departed host dropped", in: from(peerIP, remote),
		verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_PEER}})
}

// TestOverlayGBPFromPlainPeer: a Group Policy ID is honoured only from a host that sends GBP;
// from a plain kernel VXLAN peer it is ignored and the source's ipcache identity decides.
func TestOverlayGBPFromPlainPeer(t *testing.T) {
	f := newFixture(t)
	enablePolicy(t, f, maps.PolicyEntry{Src: 300, Dst: c2ID, Proto: policy.ProtoTCP, Port: 80, Allow: true})
	prog := f.dp.Programs().FromOverlay
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	remote := netip.MustParseAddr("10.42.2.5")
	forged := func(sport uint16) []byte { // a new flow each time: no ct entry lets it pass
		inner := tcpSyn(t, peerVTEPMAC, routerMAC, remote, sport, c2IP, 80)
		return vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, testVNI, 300, inner)
	}
	require.NoError(t, f.m.Peers.Put(maps.Peer{IP: peerIP, PlainVXLAN: true}))
	f.runCases(t, prog, []tcCase{{name: "GBP 300 from a plain peer ignored: identity 3 denied", in: forged(42001),
		verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_POLICY}})
	require.NoError(t, f.m.Peers.Put(maps.Peer{IP: peerIP}))
	f.runCases(t, prog, []tcCase{{name: "GBP 300 from an ebpfnet peer honoured", in: forged(42002),
		verdict: tcActRedirect, metric: bpf.DatapathMetricMETRIC_FWD_DECAP,
		want: tcpSyn(t, routerMAC, c2MAC, remote, 42002, c2IP, 80)}})
}

// TestFromContainerTunnelPort: a container may not send UDP to a cluster host's VXLAN or
// WireGuard port (a hand-made tunnel packet, masqueraded to this host's address, would pass
// the receiver's outer-source check); other traffic to those hosts and ports is untouched.
func TestFromContainerTunnelPort(t *testing.T) {
	f := newFixture(t)
	ev := f.dropEvents(t)
	prog := f.dp.Programs().FromContainer
	n, err := f.m.Node.Get()
	require.NoError(t, err)
	n.WireGuardPort = 51820
	require.NoError(t, f.m.Node.Set(n))
	udp := func(dst netip.Addr, dport uint16) []byte {
		return udpPacket(t, c1MAC, routerMAC, c1IP, 40000, dst, dport)
	}
	withOptions := serialize(t, eth(c1MAC, routerMAC, layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: c1IP.AsSlice(), DstIP: peerIP.AsSlice(),
			Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}},
		&layers.UDP{SrcPort: 40000, DstPort: 4789}, gopacket.Payload("vxlan"))
	require.Equal(t, byte(0x46), withOptions[14], "IPv4 header of 24 bytes")
	firstFragment := withByte(udp(peerIP, 4789), 20, 0x20)                  // MF set, offset 0
	laterFragment := withByte(withByte(udp(peerIP, 4789), 20, 0), 21, 0x10) // offset 128 bytes

	f.runCases(t, prog, []tcCase{
		{name: "UDP to a peer's VXLAN port dropped", ifindex: f.lxc1, in: udp(peerIP, 4789),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER},
		{name: "UDP to this host's VXLAN port dropped", ifindex: f.lxc1, in: udp(underlayIP, 4789),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER},
		{name: "UDP to a peer's WireGuard port dropped", ifindex: f.lxc1, in: udp(peerIP, 51820),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER},
		{name: "UDP with IP options to a peer's VXLAN port dropped", ifindex: f.lxc1, in: withOptions,
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER},
		{name: "first fragment to a peer's VXLAN port dropped", ifindex: f.lxc1, in: firstFragment,
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER},
		{name: "later fragment (no ports) passes", ifindex: f.lxc1, in: laterFragment,
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST},
		{name: "UDP to port 4789 of a machine that is no cluster host passes", ifindex: f.lxc1, in: udp(outsideIP, 4789),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST},
		{name: "UDP to another port of a peer passes", ifindex: f.lxc1, in: udp(peerIP, 53),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST},
		{name: "TCP to a peer's port 4789 passes", ifindex: f.lxc1, in: tcpSyn(t, c1MAC, routerMAC, c1IP, 40000, peerIP, 4789),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST},
	})

	// The first drop's event names the container and the host port it aimed at.
	e := nextDrop(t, ev)
	require.Equal(t, "drop_tunnel_from_container", maps.MetricName(maps.Metric(e.Reason)))
	require.Equal(t, [4]any{c1IP, peerIP, uint16(40000), uint16(4789)}, [4]any{e.Src, e.Dst, e.SrcPort, e.DstPort})

	n.WireGuardPort = 0
	require.NoError(t, f.m.Node.Set(n))
	f.runCases(t, prog, []tcCase{{name: "no WireGuard port configured: port 51820 passes", ifindex: f.lxc1,
		in: udp(peerIP, 51820), verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST}})
}
