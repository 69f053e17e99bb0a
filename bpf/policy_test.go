package bpf_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// c1 has identity 256 and c2 identity 257 in the fixture.
const c1ID, c2ID = 256, 257

// enablePolicy swaps in entries under default deny, as the agent does (maps.SwapPolicy).
func enablePolicy(t *testing.T, f *fixture, entries ...maps.PolicyEntry) {
	t.Helper()
	setPolicy(t, f, false, entries...)
}

// setPolicy swaps in entries with the given default action, policy enforced.
func setPolicy(t *testing.T, f *fixture, defaultAllow bool, entries ...maps.PolicyEntry) {
	t.Helper()
	require.NoError(t, maps.SwapPolicy(f.m.Policy, f.m.Node, entries, nil, func(n *maps.Node) {
		n.PolicyEnforce, n.PolicyDefault = true, defaultAllow
	}))
}

// nextDrop reads the next drop event (within a second).
func nextDrop(t *testing.T, ev *maps.DropEvents) maps.DropEvent {
	t.Helper()
	ev.SetDeadline(time.Now().Add(time.Second))
	e, err := ev.Read()
	require.NoError(t, err)
	return e
}

func icmpUnreachable(t *testing.T, smac, dmac []byte, src, dst netip.Addr, quoted []byte) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), ipv4(src, dst, 64, layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)},
		gopacket.Payload(quoted[14:42])) // the offending IPv4 header + 8 bytes, as RFC 792 quotes
}

func TestPolicyAllowDenyStateful(t *testing.T) {
	f := newFixture(t)
	ev := f.dropEvents(t)
	prog := f.dp.Programs().FromContainer
	allow80 := maps.PolicyEntry{Src: c1ID, Dst: c2ID, Proto: policy.ProtoTCP, Port: 80, Allow: true, Rule: 0}
	allowDNS := maps.PolicyEntry{Src: c1ID, Dst: c2ID, Proto: policy.ProtoUDP, Port: 53, Allow: true, Rule: 1}
	denyUDP := maps.PolicyEntry{Src: c1ID, Dst: c2ID, Proto: policy.ProtoUDP, Port: 7777, Allow: false, Rule: 2}
	enablePolicy(t, f, allow80, allowDNS, denyUDP)

	// Allowed: c1 -> c2:80.
	syn := tcpSyn(t, c1MAC, routerMAC, c1IP, 40000, c2IP, 80)
	verdict, _ := f.run(t, prog, f.lxc1, syn)
	require.Equal(t, uint32(tcActRedirect), verdict, "allowed by rule 0")

	// Denied by the default action: c1 -> c2:81; counter, per-rule counter and event.
	before := f.counters(t)
	verdict, _ = f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 40001, c2IP, 81))
	require.Equal(t, uint32(tcActShot), verdict)
	require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_POLICY, before))
	dflt, err := f.m.PolicyDrops.Read(f.m.PolicyDrops.DefaultRuleSlot())
	require.NoError(t, err)
	require.Equal(t, uint64(1), dflt.Packets)
	e := nextDrop(t, ev)
	require.Equal(t, maps.DropEvent{Time: e.Time, Src: c1IP, Dst: c2IP, SrcPort: 40001, DstPort: 81, SrcIdentity: c1ID,
		DstIdentity: c2ID, IfIndex: f.lxc1, Rule: maps.RuleDefault, Proto: policy.ProtoTCP, Reason: bpf.DatapathMetricMETRIC_DROP_POLICY}, e)

	// Denied by rule 2, which the event names.
	verdict, _ = f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 5000, c2IP, 7777))
	require.Equal(t, uint32(tcActShot), verdict)
	e = nextDrop(t, ev)
	require.Equal(t, uint16(2), e.Rule)
	byRule, err := f.m.PolicyDrops.Read(2)
	require.NoError(t, err)
	require.Equal(t, uint64(1), byRule.Packets)

	// The reply of the allowed flow passes although nothing allows c2 -> c1.
	verdict, _ = f.run(t, prog, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 80, c1IP, 40000))
	require.Equal(t, uint32(tcActRedirect), verdict, "reply of an allowed flow")
	// A connection c2 -> c1 of its own does not.
	verdict, _ = f.run(t, prog, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 80, c1IP, 40999))
	require.Equal(t, uint32(tcActShot), verdict, "new flow in the reverse direction")
	_ = nextDrop(t, ev)

	// An ICMP error about an allowed flow passes with it; one about an unknown flow does not.
	dns := udpPacket(t, c1MAC, routerMAC, c1IP, 5300, c2IP, 53)
	verdict, _ = f.run(t, prog, f.lxc1, dns)
	require.Equal(t, uint32(tcActRedirect), verdict)
	verdict, _ = f.run(t, prog, f.lxc2, icmpUnreachable(t, c2MAC, routerMAC, c2IP, c1IP, dns))
	require.Equal(t, uint32(tcActRedirect), verdict, "ICMP error related to an allowed flow")
	other := udpPacket(t, c1MAC, routerMAC, c1IP, 5301, c2IP, 9999)
	verdict, _ = f.run(t, prog, f.lxc2, icmpUnreachable(t, c2MAC, routerMAC, c2IP, c1IP, other))
	require.Equal(t, uint32(tcActShot), verdict, "ICMP error about nothing allowed")
	_ = nextDrop(t, ev)

	// allow -> deny: the established flow is decided again on its next packet and stopped,
	// its reply too; a new connection is refused.
	enablePolicy(t, f, allowDNS, denyUDP)
	verdict, _ = f.run(t, prog, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 80, c1IP, 40000))
	require.Equal(t, uint32(tcActShot), verdict, "reply of a flow the new policy denies")
	require.Equal(t, uint16(40000), nextDrop(t, ev).DstPort)
	verdict, _ = f.run(t, prog, f.lxc1, syn)
	require.Equal(t, uint32(tcActShot), verdict, "established flow the new policy denies")
	_ = nextDrop(t, ev)
	verdict, _ = f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 40002, c2IP, 80))
	require.Equal(t, uint32(tcActShot), verdict, "new connection after the deny")
	e = nextDrop(t, ev)
	require.Equal(t, uint16(40002), e.SrcPort)
	// A flow still allowed survives the change.
	verdict, _ = f.run(t, prog, f.lxc1, dns)
	require.Equal(t, uint32(tcActRedirect), verdict, "established flow the new policy allows")
}

// TestPolicyByIdentityFromOverlay: the receiving host decides with the identity carried in the
// VXLAN GBP extension.
func TestPolicyByIdentityFromOverlay(t *testing.T) {
	f := newFixture(t)
	enablePolicy(t, f, maps.PolicyEntry{Src: 300, Dst: c2ID, Proto: policy.ProtoTCP, Port: 80, Allow: true})
	prog := f.dp.Programs().FromOverlay
	remote := netip.MustParseAddr("10.42.2.5")
	peerVTEPMAC := []byte{0x0e, 0x00, 172, 31, 0, 2}
	sport := uint16(41000)
	frame := func(identity uint16, port uint16) []byte {
		sport++ // a new flow each time: an established flow would pass on its ct entry
		inner := tcpSyn(t, peerVTEPMAC, routerMAC, remote, sport, c2IP, port)
		return vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 40000, testVNI, identity, inner)
	}
	verdict, _ := f.run(t, prog, f.ul, frame(300, 80))
	require.Equal(t, uint32(tcActRedirect), verdict, "identity 300 may reach c2:80")
	verdict, _ = f.run(t, prog, f.ul, frame(301, 80))
	require.Equal(t, uint32(tcActShot), verdict, "identity 301 may not")
	verdict, _ = f.run(t, prog, f.ul, frame(0, 80))
	require.Equal(t, uint32(tcActShot), verdict, "no GBP: the remote CIDR's identity (3) decides")
}
