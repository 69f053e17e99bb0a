package bpf_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// XDP return codes (enum xdp_action, include/uapi/linux/bpf.h).
const (
	xdpDrop = 1
	xdpPass = 2
)

var deniedNet = netip.MustParsePrefix("198.51.100.0/24") // an outside network on the deny list

// runXDP executes xdp_underlay once on pkt and returns its verdict and the packet after it.
func (f *fixture) runXDP(t *testing.T, pkt []byte) (uint32, []byte) {
	t.Helper()
	var (
		ret  uint32
		err  error
		opts = &ebpf.RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+256)}
	)
	f.inNetns(t, func() { ret, err = f.dp.Programs().XdpUnderlay.Run(opts) })
	require.NoError(t, err)
	return ret, opts.DataOut
}

// xdpFixture is the fixture with default-deny policy allowing remote identity 300 to c1 on
// TCP 80 and c1 to the remote on TCP 8080, and deniedNet on the prefilter.
func xdpFixture(t *testing.T) *fixture {
	f := newFixture(t)
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.PrefixFrom(remoteIP, 32), TunnelEndpoint: peerIP, Identity: remoteID}))
	enablePolicy(t, f,
		maps.PolicyEntry{Src: remoteID, Dst: c1ID, Proto: policy.ProtoTCP, Port: 80, Allow: true, Rule: 0},
		maps.PolicyEntry{Src: c1ID, Dst: remoteID, Proto: policy.ProtoTCP, Port: 8080, Allow: true, Rule: 1})
	require.NoError(t, f.m.Prefilter.Replace([]netip.Prefix{deniedNet}))
	return f
}

// xdpPackets are crafted underlay frames by name: every drop rule of the XDP program and the
// frames it must pass.
func xdpPackets(t *testing.T, f *fixture) map[string][]byte {
	denied := netip.MustParseAddr("198.51.100.7")
	syn := func(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
		return tcpSyn(t, peerVTEPMAC, routerMAC, src, sport, dst, dport)
	}
	vx := func(outer netip.Addr, vni uint32, id uint16, inner []byte) []byte {
		return vxlanFrame(t, peerMAC, f.underlayMAC, outer, underlayIP, 40000, vni, id, inner)
	}
	good := vx(peerIP, testVNI, remoteID, syn(remoteIP, 41000, c1IP, 80))
	noIFlag := withByte(good, 42, 0x80) // VXLAN flags: G without I
	notIPv4 := withByte(good, 42+8+12, 0x86)
	return map[string][]byte{
		// drops
		"prefilter: TCP SYN from a denied network to the host": tcpSyn(t, outsideMAC, f.underlayMAC, denied, 5555, underlayIP, 8080),
		"prefilter: VXLAN from a denied network":               vx(denied, testVNI, remoteID, syn(remoteIP, 41001, c1IP, 80)),
		"VXLAN from no cluster host":                           vx(outsideIP, testVNI, remoteID, syn(remoteIP, 41002, c1IP, 80)),
		"VXLAN with a foreign VNI":                             vx(peerIP, testVNI+1, remoteID, syn(remoteIP, 41003, c1IP, 80)),
		"VXLAN without the I flag":                             noIFlag,
		"VXLAN whose inner frame is not IPv4":                  notIPv4,
		"VXLAN truncated inside the inner header":              good[:14+20+8+8+14+10],
		"policy: new flow on a denied port":                    vx(peerIP, testVNI, remoteID, syn(remoteIP, 41004, c1IP, 22)),
		"policy: new flow of a denied identity (GBP)":          vx(peerIP, testVNI, 301, syn(remoteIP, 41005, c1IP, 80)),
		"policy: new UDP flow to c2":                           vx(peerIP, testVNI, remoteID, udpPacket(t, peerVTEPMAC, routerMAC, remoteIP, 41006, c2IP, 53)),
		// passes
		"allowed new flow":                            good,
		"reply of an allowed flow c1->remote":         vx(peerIP, testVNI, remoteID, tcpSynAck(t, remoteIP, 8080, c1IP, 41100)),
		"ARP request for the host":                    arpRequest(t, outsideMAC, outsideIP, underlayIP),
		"host's own traffic (TCP reply to the host)":  tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 443, underlayIP, 50000),
		"host's own UDP from the peer host":           udpPacket(t, peerMAC, f.underlayMAC, peerIP, 53, underlayIP, 50001),
		"VXLAN spoofing an inner source (tc decides)": vx(peerIP, testVNI, remoteID, syn(c2IP, 41007, c1IP, 80)),
		"VXLAN to an unknown endpoint (tc decides)":   vx(peerIP, testVNI, remoteID, syn(remoteIP, 41008, netip.MustParseAddr("10.42.1.99"), 80)),
		"ICMP error quoting a flow (tc decides)": vx(peerIP, testVNI, remoteID,
			icmpUnreachable(t, peerVTEPMAC, routerMAC, remoteIP, c1IP, syn(c1IP, 41101, remoteIP, 8080))),
	}
}

// tcpSynAck is the SYN-ACK src:sport -> dst:dport inside VXLAN from the peer.
func tcpSynAck(t *testing.T, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(peerVTEPMAC, routerMAC, layers.EthernetTypeIPv4), ipv4(src, dst, 64, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, ACK: true, Seq: 1, Ack: 1001, Window: 64240},
		gopacket.Payload("ack"))
}

// openC1Flow sends c1's SYN to the remote on 8080 through from_container, so the reply's flow is
// tracked.
func openC1Flow(t *testing.T, f *fixture) {
	v, _ := f.run(t, f.dp.Programs().FromContainer, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 41100, remoteIP, 8080))
	require.Equal(t, uint32(tcActRedirect), v)
}

// xdpDropCase is a frame of xdpPackets that XDP drops: its reason, the event's source, rule.
type xdpDropCase struct {
	name   string
	reason maps.Metric
	src    netip.Addr
	rule   uint16
}

// TestXDPDropRules: each drop rule of xdp_underlay drops with its reason counted exactly once
// (policy also by rule) and an event naming the packet; everything else passes unchanged and
// counts nothing.
func TestXDPDropRules(t *testing.T) {
	f := xdpFixture(t)
	ev := f.dropEvents(t)
	openC1Flow(t, f)
	pkts := xdpPackets(t, f)
	drops := []xdpDropCase{
		{"prefilter: TCP SYN from a denied network to the host", bpf.DatapathMetricMETRIC_DROP_PREFILTER, netip.MustParseAddr("198.51.100.7"), maps.RuleNone},
		{"prefilter: VXLAN from a denied network", bpf.DatapathMetricMETRIC_DROP_PREFILTER, netip.MustParseAddr("198.51.100.7"), maps.RuleNone},
		{"VXLAN from no cluster host", bpf.DatapathMetricMETRIC_DROP_UNKNOWN_PEER, outsideIP, maps.RuleNone},
		{"VXLAN with a foreign VNI", bpf.DatapathMetricMETRIC_DROP_BAD_VNI, peerIP, maps.RuleNone},
		{"VXLAN without the I flag", bpf.DatapathMetricMETRIC_DROP_INVALID, peerIP, maps.RuleNone},
		{"VXLAN whose inner frame is not IPv4", bpf.DatapathMetricMETRIC_DROP_INVALID, peerIP, maps.RuleNone},
		{"VXLAN truncated inside the inner header", bpf.DatapathMetricMETRIC_DROP_INVALID, peerIP, maps.RuleNone},
		{"policy: new flow on a denied port", bpf.DatapathMetricMETRIC_DROP_POLICY, remoteIP, maps.RuleDefault},
		{"policy: new flow of a denied identity (GBP)", bpf.DatapathMetricMETRIC_DROP_POLICY, remoteIP, maps.RuleDefault},
		{"policy: new UDP flow to c2", bpf.DatapathMetricMETRIC_DROP_POLICY, remoteIP, maps.RuleDefault},
	}
	for _, d := range drops {
		t.Run(d.name, func(t *testing.T) {
			before := f.counters(t)
			rulesBefore, err := f.m.PolicyDrops.All()
			require.NoError(t, err)
			v, _ := f.runXDP(t, pkts[d.name])
			require.Equal(t, uint32(xdpDrop), v)
			after := f.counters(t)
			for m := range after {
				want := before[m].Packets
				if m == d.reason {
					want++
				}
				require.Equal(t, want, after[m].Packets, "counter %s", maps.MetricName(m))
			}
			rulesAfter, err := f.m.PolicyDrops.All()
			require.NoError(t, err)
			if d.reason == bpf.DatapathMetricMETRIC_DROP_POLICY {
				require.Equal(t, rulesBefore[maps.PolicyRulesMax-1].Packets+1, rulesAfter[maps.PolicyRulesMax-1].Packets, "default-action drops")
				require.Equal(t, uint64(len(pkts[d.name])-50), after[d.reason].Bytes-before[d.reason].Bytes, "bytes of the decapsulated frame, as tc counts")
			} else {
				require.Equal(t, rulesBefore, rulesAfter)
			}
			e := nextDrop(t, ev)
			require.Equal(t, maps.MetricName(d.reason), maps.MetricName(e.Reason))
			require.Equal(t, d.src, e.Src)
			require.Equal(t, d.rule, e.Rule)
			if d.reason == bpf.DatapathMetricMETRIC_DROP_POLICY {
				require.NotZero(t, e.SrcIdentity)
				require.NotZero(t, e.DstIdentity)
				require.NotZero(t, e.DstPort)
			}
		})
	}
	dropped := map[string]bool{}
	for _, d := range drops {
		dropped[d.name] = true
	}
	for name, pkt := range pkts {
		if dropped[name] {
			continue
		}
		t.Run(name, func(t *testing.T) {
			before := f.counters(t)
			v, out := f.runXDP(t, pkt)
			require.Equal(t, uint32(xdpPass), v)
			require.Equal(t, pkt, out[:len(pkt)], "passed unchanged")
			require.Equal(t, before, f.counters(t), "no counter may move")
		})
	}
}

// droppedFor is the name of the drop reason whose counter moved between before and after, or
// "none".
func droppedFor(before, after map[maps.Metric]maps.Counter) string {
	for m, c := range after {
		if name := maps.MetricName(m); c.Packets != before[m].Packets && strings.HasPrefix(name, "drop_") {
			return name
		}
	}
	return "none"
}

// TestXDPSameVerdictAsTC sends the same crafted frames through xdp_underlay and then
// from_overlay (with its prefilter on, as under --xdp-mode off): whatever XDP drops, the tc
// path drops for the same reason, and the XDP drops are the expected ones.
func TestXDPSameVerdictAsTC(t *testing.T) {
	f := xdpFixture(t)
	require.NoError(t, f.m.Prefilter.SetTC(true))
	openC1Flow(t, f)
	pkts := xdpPackets(t, f)
	frags := udpFragments(t, peerVTEPMAC, routerMAC, remoteIP, 41200, c1IP, 53, 0x4242, 1200, 512)
	for i, fr := range frags {
		pkts["policy: fragment "+string(rune('0'+i))+" of a denied UDP datagram"] =
			vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, testVNI, remoteID, fr)
	}
	pkts["reply of a flow c1 never opened"] = vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, testVNI, remoteID,
		tcpSynAck(t, remoteIP, 8080, c1IP, 41999))
	xdpDrops := 0
	for name, pkt := range pkts {
		t.Run(name, func(t *testing.T) {
			before := f.counters(t)
			xv, _ := f.runXDP(t, pkt)
			mid := f.counters(t)
			tv, _ := f.run(t, f.dp.Programs().FromOverlay, f.ul, pkt)
			after := f.counters(t)
			if xv == xdpPass {
				return // the tc path decides alone
			}
			xdpDrops++
			require.Equal(t, uint32(xdpDrop), xv)
			require.Equal(t, uint32(tcActShot), tv, "XDP dropped, tc passed")
			require.Equal(t, droppedFor(before, mid), droppedFor(mid, after), "drop reason")
		})
	}
	require.Equal(t, 11, xdpDrops, "XDP drops: the 10 drop rules' frames and the reply of no flow")
}

// TestXDPDropEventsRateLimited: a flood of 20,000 denied frames is counted exactly, while drop
// events stop at the per-reason budget (100 a second per CPU).
func TestXDPDropEventsRateLimited(t *testing.T) {
	f := xdpFixture(t)
	ev := f.dropEvents(t)
	pkt := xdpPackets(t, f)["prefilter: TCP SYN from a denied network to the host"]
	before := f.counters(t)
	var (
		ret uint32
		err error
	)
	f.inNetns(t, func() {
		ret, err = f.dp.Programs().XdpUnderlay.Run(&ebpf.RunOptions{Data: pkt, Repeat: 20000})
	})
	require.NoError(t, err)
	require.Equal(t, uint32(xdpDrop), ret)
	require.Equal(t, before[bpf.DatapathMetricMETRIC_DROP_PREFILTER].Packets+20000, f.counters(t)[bpf.DatapathMetricMETRIC_DROP_PREFILTER].Packets)
	events := 0
	for {
		ev.SetDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := ev.Read(); err != nil {
			break
		}
		events++
	}
	t.Logf("20000 drops, %d events", events)
	require.Positive(t, events)
	require.Less(t, events, 1000, "events are rate-limited")
}
