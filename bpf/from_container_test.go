package bpf_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
)

// tc verdicts (include/uapi/linux/pkt_cls.h).
const (
	tcActOK       = 0
	tcActShot     = 2
	tcActRedirect = 7
)

func TestFromContainer(t *testing.T) {
	f := newFixture(t)
	prog := f.dp.Programs().FromContainer
	outside := netip.MustParseAddr("192.0.2.10")

	f.runCases(t, prog, []tcCase{
		{
			name: "arp for gateway answered with router MAC", ifindex: f.lxc1,
			in:      arpRequest(t, c1MAC, c1IP, netip.MustParseAddr("10.42.1.1")),
			verdict: tcActRedirect,
			want:    arpReply(t, routerMAC, c1MAC, netip.MustParseAddr("10.42.1.1"), c1IP),
			metric:  bpf.DatapathMetricMETRIC_ARP_REPLY,
		},
		{
			name: "arp for remote endpoint answered", ifindex: f.lxc1,
			in:      arpRequest(t, c1MAC, c1IP, netip.MustParseAddr("10.42.2.5")),
			verdict: tcActRedirect,
			want:    arpReply(t, routerMAC, c1MAC, netip.MustParseAddr("10.42.2.5"), c1IP),
			metric:  bpf.DatapathMetricMETRIC_ARP_REPLY,
		},
		{
			name: "arp outside cluster goes to host", ifindex: f.lxc1,
			in:      arpRequest(t, c1MAC, c1IP, outside),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST,
		},
		{
			name: "duplicate address probe not answered", ifindex: f.lxc1,
			in:      arpRequest(t, c1MAC, netip.IPv4Unspecified(), c2IP),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST,
		},
		{
			name: "local endpoint: router MACs, TTL-1, redirect to peer", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c1IP, c2IP, 64),
			verdict: tcActRedirect,
			want:    icmpEcho(t, routerMAC, c2MAC, c1IP, c2IP, 63),
			metric:  bpf.DatapathMetricMETRIC_FWD_LOCAL,
		},
		{
			name: "outside cluster goes to host untouched", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c1IP, outside, 64),
			verdict: tcActOK, metric: bpf.DatapathMetricMETRIC_TO_HOST,
		},
		{
			name: "unknown IP in local CIDR dropped", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c1IP, netip.MustParseAddr("10.42.1.99"), 64),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_UNKNOWN_ENDPOINT,
		},
		{
			name: "cluster IP without route dropped", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c1IP, netip.MustParseAddr("10.42.200.1"), 64),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_NO_ROUTE,
		},
		{
			name: "spoofed source dropped", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c2IP, netip.MustParseAddr("10.42.2.5"), 64),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE,
		},
		{
			name: "TTL 1 dropped", ifindex: f.lxc1,
			in:      icmpEcho(t, c1MAC, routerMAC, c1IP, c2IP, 1),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_TTL_EXCEEDED,
		},
		{
			name: "IPv4 header length below 20 bytes dropped", ifindex: f.lxc1,
			in:      withByte(icmpEcho(t, c1MAC, routerMAC, c1IP, c2IP, 64), 14, 0x44),
			verdict: tcActShot, metric: bpf.DatapathMetricMETRIC_DROP_INVALID,
		},
	})
}

// TestFromContainerEncap checks the VXLAN packet built for a remote endpoint byte by byte.
func TestFromContainerEncap(t *testing.T) {
	f := newFixture(t)
	remote := netip.MustParseAddr("10.42.2.5")
	in := icmpEcho(t, c1MAC, routerMAC, c1IP, remote, 64)
	before := f.counters(t)

	verdict, out := f.run(t, f.dp.Programs().FromContainer, f.lxc1, in)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	require.Len(t, out, len(in)+50, "VXLAN adds 50 bytes")

	// The UDP source port is a flow hash (RFC 7348 section 5): check its range, then build the
	// expected frame around it.
	sport := binary.BigEndian.Uint16(out[34:36])
	require.GreaterOrEqual(t, sport, uint16(32768))
	require.LessOrEqual(t, sport, uint16(60999))
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	inner := icmpEcho(t, routerMAC, peerVTEPMAC, c1IP, remote, 63)
	want := vxlanFrame(t, f.underlayMAC, peerMAC, underlayIP, peerIP, sport, testVNI, 256, inner)
	require.Equal(t, want, out, "c1's identity 256 rides in the GBP extension")

	// gopacket agrees it is a well-formed VXLAN frame with valid checksums.
	p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer())
	vx, ok := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
	require.True(t, ok)
	require.Equal(t, uint32(testVNI), vx.VNI)

	after := f.counters(t)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets+1, after[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)

	// A plain kernel VXLAN peer gets no GBP extension, which it would drop.
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: remoteCIDR, TunnelEndpoint: peerIP, Identity: 3, PlainVXLAN: true}))
	_, out = f.run(t, f.dp.Programs().FromContainer, f.lxc1, in)
	sport = binary.BigEndian.Uint16(out[34:36])
	require.Equal(t, vxlanFrame(t, f.underlayMAC, peerMAC, underlayIP, peerIP, sport, testVNI, 0, inner), out)
}

// TestFromContainerEncapFragNeeded: a full-size container packet that would exceed the underlay
// MTU once VXLAN's 50 bytes are added is dropped as drop_frag_needed (DF is set on the outer
// header, so nothing is fragmented), while one that fits is encapsulated.
func TestFromContainerEncapFragNeeded(t *testing.T) {
	f := newFixture(t)
	remote := netip.MustParseAddr("10.42.2.5")
	echo := func(ipLen int) []byte {
		payload := make([]byte, ipLen-20-8) // IPv4 20 + ICMP 8
		return serialize(t, eth(c1MAC, routerMAC, layers.EthernetTypeIPv4), ipv4(c1IP, remote, 64, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1},
			gopacket.Payload(payload))
	}
	// The underlay veth has MTU 1500: 1450 + 50 fits, 1451 + 50 does not.
	before := f.counters(t)
	verdict, out := f.run(t, f.dp.Programs().FromContainer, f.lxc1, echo(1450))
	require.Equal(t, uint32(tcActRedirect), verdict)
	require.Len(t, out, 14+1450+50, "encapsulated to exactly the underlay MTU")
	verdict, _ = f.run(t, f.dp.Programs().FromContainer, f.lxc1, echo(1451))
	require.Equal(t, uint32(tcActShot), verdict)
	after := f.counters(t)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets+1, after[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_DROP_FRAG_NEEDED].Packets+1, after[bpf.DatapathMetricMETRIC_DROP_FRAG_NEEDED].Packets)
}

// gsoCtx is struct __sk_buff up to gso_size (include/uapi/linux/bpf.h): the fields
// BPF_PROG_TEST_RUN lets a test set (net/bpf/test_run.c, convert___skb_to_skb), the others 0.
type gsoCtx struct {
	_              [9]uint32
	IngressIfindex uint32
	Ifindex        uint32
	_              [30]uint32 // tc_index .. wire_len
	GSOSegs        uint32
	_              [2]uint32 // sk
	GSOSize        uint32
}

// TestFromContainerEncapFailed: when bpf_skb_adjust_room refuses to grow the packet, it is
// dropped as drop_encap_failed, never sent half-built. A GSO skb whose gso_type is neither TCP
// nor UDP_L4 (BPF_PROG_TEST_RUN sets gso_size but no gso_type) is such a packet: the kernel's
// bpf_skb_net_grow answers -ENOTSUPP (net/core/filter.c).
func TestFromContainerEncapFailed(t *testing.T) {
	f := newFixture(t)
	in := icmpEcho(t, c1MAC, routerMAC, c1IP, netip.MustParseAddr("10.42.2.5"), 64)
	before := f.counters(t)
	var (
		verdict uint32
		err     error
	)
	opts := &ebpf.RunOptions{Data: in, DataOut: make([]byte, len(in)+256),
		Context: gsoCtx{IngressIfindex: uint32(f.lxc1), Ifindex: uint32(f.lxc1), GSOSegs: 2, GSOSize: 1000}}
	f.inNetns(t, func() { verdict, err = f.dp.Programs().FromContainer.Run(opts) })
	require.NoError(t, err)
	require.Equal(t, uint32(tcActShot), verdict)
	after := f.counters(t)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_DROP_ENCAP_FAILED].Packets+1, after[bpf.DatapathMetricMETRIC_DROP_ENCAP_FAILED].Packets)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets, after[bpf.DatapathMetricMETRIC_FWD_ENCAP].Packets)
}
