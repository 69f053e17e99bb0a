package bpf_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
)

// wgPeerIP is the underlay address of the encrypted peer in TestFromWireGuard. The WireGuard
// device is L3, so from_wireguard sees a bare IPv4 packet; BPF_PROG_TEST_RUN for sched_cls
// (kernel net/bpf/test_run.c, bpf_prog_test_run_skb) always treats the data as an Ethernet
// frame: it needs ETH_HLEN bytes, sets skb->protocol with eth_type_trans from bytes 12-13 and
// pushes the 14 bytes back, so the program still sees the data from its first byte, i.e. from
// the IP header. Bytes 12-13 of an IPv4 header are the first two octets of the source address:
// a peer at 8.0.x.x makes skb->protocol ETH_P_IP (0x0800), exactly as the kernel sets it for a
// packet the TUN device receives.
//
// One difference remains: test_run leaves skb->network_header at data+ETH_HLEN (eth_type_trans,
// skb_reset_network_header, then __skb_push of the 14 bytes), 14 bytes into the IP header,
// where a real TUN receive has it at the IP header (__netif_receive_skb_core resets it). After
// wg_push_l2's bpf_skb_change_head the MAC header length is therefore 28, not 14, and the
// decapsulation's bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC) removes the 50 bytes of outer headers
// 14 bytes late: the first 14 bytes of the outer IP header stay in place of the inner one's.
// testRunDecap builds exactly that, so every other byte is still checked; the real layout is
// covered end to end (TestEncryptionOnTheWire and the encrypted e2e suite).
var wgPeerIP = netip.MustParseAddr("8.0.0.2")

// l3 strips the Ethernet header off frame: what the WireGuard device delivers after decryption.
func l3(frame []byte) []byte { return frame[14:] }

// testRunDecap is delivered (a frame) as BPF_PROG_TEST_RUN returns it after decapsulating in
// (an L3 VXLAN packet): bytes 14-27 are in's first 14 bytes (see wgPeerIP).
func testRunDecap(in, delivered []byte) []byte {
	out := append([]byte(nil), delivered...)
	copy(out[14:28], in[:14])
	return out
}

// TestFromWireGuard: from_wireguard gives a decrypted VXLAN packet (IPv4, no MAC header) an
// Ethernet header and decapsulates it with from_overlay's code: delivered to the endpoint with
// router and endpoint MACs; a peer that is no cluster host, an inner source the peer does not
// own, and a packet skb->protocol does not mark as IPv4 are counted drops.
func TestFromWireGuard(t *testing.T) {
	f := newFixture(t)
	ev := f.dropEvents(t)
	prog := f.dp.Programs().FromWireguard
	wgRemoteCIDR := netip.MustParsePrefix("10.42.4.0/24")
	remote := netip.MustParseAddr("10.42.4.5")
	peerVTEPMAC := []byte{0x0e, 0x00, 8, 0, 0, 2}
	f.withWireGuard(t, true, maps.Peer{IP: wgPeerIP, Encrypt: true}, maps.Peer{IP: peerIP, Encrypt: true})
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: wgRemoteCIDR, TunnelEndpoint: wgPeerIP, Identity: 3}))
	n, err := f.m.Node.Get()
	require.NoError(t, err)
	wg := n.WireGuardIfIndex
	decrypted := func(outer, inner netip.Addr, identity uint16) []byte {
		return l3(vxlanFrame(t, peerMAC, f.underlayMAC, outer, underlayIP, 40000, testVNI, identity,
			udpPacket(t, peerVTEPMAC, routerMAC, inner, 5000, c1IP, 53)))
	}
	delivered := udpPacket(t, routerMAC, c1MAC, remote, 5000, c1IP, 53)
	plain, gbp := decrypted(wgPeerIP, remote, 0), decrypted(wgPeerIP, remote, 300)

	f.runCases(t, prog, []tcCase{
		{name: "decrypted VXLAN from the peer delivered", ifindex: wg, in: plain,
			verdict: tcActRedirect, want: testRunDecap(plain, delivered), metric: bpf.DatapathMetricMETRIC_FWD_DECAP},
		{name: "decrypted VXLAN-GBP from the peer delivered", ifindex: wg, in: gbp,
			verdict: tcActRedirect, want: testRunDecap(gbp, delivered), metric: bpf.DatapathMetricMETRIC_FWD_DECAP},
		{name: "inner source the peer does not own dropped", ifindex: wg, in: decrypted(wgPeerIP, c2IP, 0),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE},
		// skb->protocol 0xac1f (172.31): not IPv4 for the program, so nothing is parsed.
		{name: "packet not marked IPv4 dropped", ifindex: wg, in: decrypted(peerIP, netip.MustParseAddr("10.42.2.5"), 0),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_INVALID},
	})
	e := nextDrop(t, ev)
	require.Equal(t, "drop_spoofed_source", maps.MetricName(maps.Metric(e.Reason)))
	require.Equal(t, c1IP, e.Dst) // Src is read after the decapsulation: see wgPeerIP
	require.Equal(t, uint16(53), e.DstPort)

	// A host that left the cluster (peers map) is refused even through the tunnel.
	require.NoError(t, f.m.Peers.Delete(wgPeerIP))
	f.runCases(t, prog, []tcCase{{name: "decrypted VXLAN from a departed host dropped", ifindex: wg,
		in: decrypted(wgPeerIP, remote, 0), verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_PEER}})
}
