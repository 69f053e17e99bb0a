package bpf_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// udpPacket is src:sport -> dst:dport over UDP, framed smac -> dmac.
func udpPacket(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), ipv4(src, dst, 64, layers.IPProtocolUDP),
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, gopacket.Payload("nat-test"))
}

// tcpSyn is a TCP SYN src:sport -> dst:dport.
func tcpSyn(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), ipv4(src, dst, 64, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true, Seq: 1000, Window: 64240},
		gopacket.Payload("syn"))
}

// decoded is what a NAT test asserts on: addresses, ports, TTL, MACs of an output packet.
type decoded struct {
	smac, dmac   net.HardwareAddr
	src, dst     netip.Addr
	sport, dport uint16
	ttl          uint8
	icmpID       uint16
}

// decodeChecked parses an output packet and requires that its IPv4 and L4 checksums are the
// ones gopacket computes from scratch (catching any wrong incremental update).
func decodeChecked(t *testing.T, pkt []byte) decoded {
	t.Helper()
	p := gopacket.NewPacket(pkt, layers.LayerTypeEthernet, gopacket.Default)
	require.Nil(t, p.ErrorLayer())
	e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	d := decoded{smac: e.SrcMAC, dmac: e.DstMAC, ttl: ip.TTL}
	d.src, _ = netip.AddrFromSlice(ip.SrcIP)
	d.dst, _ = netip.AddrFromSlice(ip.DstIP)
	var l4 gopacket.SerializableLayer
	var got uint16
	switch v := p.TransportLayer().(type) {
	case *layers.UDP:
		d.sport, d.dport, got = uint16(v.SrcPort), uint16(v.DstPort), v.Checksum
		require.NoError(t, v.SetNetworkLayerForChecksum(ip))
		l4 = v
	case *layers.TCP:
		d.sport, d.dport, got = uint16(v.SrcPort), uint16(v.DstPort), v.Checksum
		require.NoError(t, v.SetNetworkLayerForChecksum(ip))
		l4 = v
	default:
		icmp := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		d.icmpID, got = icmp.Id, icmp.Checksum
		l4 = icmp
	}
	ipSum := ip.Checksum
	buf := gopacket.NewSerializeBuffer()
	payload := gopacket.Payload(p.ApplicationLayer().Payload())
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ip, l4, payload))
	re := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
	require.Equal(t, re.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum, ipSum, "IPv4 checksum")
	var want uint16
	switch v := re.Layer(l4.LayerType()).(type) {
	case *layers.UDP:
		want = v.Checksum
	case *layers.TCP:
		want = v.Checksum
	case *layers.ICMPv4:
		want = v.Checksum
	}
	require.Equal(t, want, got, "L4 checksum")
	return d
}

func counted(t *testing.T, f *fixture, m maps.Metric, before map[maps.Metric]maps.Counter) uint64 {
	return f.counters(t)[m].Packets - before[m].Packets
}

// TestMasquerade: SNAT of a container's UDP and TCP to the underlay IP with a port from the
// configured range, and the reverse translation of replies; checksums recomputed correctly.
func TestMasquerade(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, HostNAT: true}))
	progC, progO := f.dp.Programs().FromContainer, f.dp.Programs().FromOverlay

	for _, tc := range []struct {
		name string
		out  func(sport uint16) []byte
		back func(dport uint16) []byte
	}{
		{"udp",
			func(sp uint16) []byte { return udpPacket(t, c1MAC, routerMAC, c1IP, sp, outsideIP, 7777) },
			func(dp uint16) []byte {
				return udpPacket(t, outsideMAC, f.underlayMAC, outsideIP, 7777, underlayIP, dp)
			}},
		{"tcp",
			func(sp uint16) []byte { return tcpSyn(t, c1MAC, routerMAC, c1IP, sp, outsideIP, 80) },
			func(dp uint16) []byte { return tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 80, underlayIP, dp) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counters(t)
			verdict, out := f.run(t, progC, f.lxc1, tc.out(5000))
			require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
			d := decodeChecked(t, out)
			require.Equal(t, underlayIP, d.src, "masqueraded to the underlay IP")
			require.Equal(t, outsideIP, d.dst)
			require.GreaterOrEqual(t, d.sport, uint16(natMin))
			require.LessOrEqual(t, d.sport, uint16(natMax))
			require.Equal(t, uint8(63), d.ttl)
			require.Equal(t, f.underlayMAC, d.smac)
			require.Equal(t, outsideMAC, d.dmac)
			require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_FWD_SNAT, before))

			_, again := f.run(t, progC, f.lxc1, tc.out(5000))
			require.Equal(t, d.sport, decodeChecked(t, again).sport, "same flow keeps its port")

			verdict, back := f.run(t, progO, f.ul, tc.back(d.sport))
			require.Equal(t, uint32(tcActRedirect), verdict)
			r := decodeChecked(t, back)
			require.Equal(t, c1IP, r.dst, "reply reverse-translated to the container")
			require.Equal(t, uint16(5000), r.dport)
			require.Equal(t, outsideIP, r.src)
			require.Equal(t, c1MAC, r.dmac)
			require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_FWD_SNAT_REPLY, before))
		})
	}

	t.Run("icmp echo", func(t *testing.T) {
		verdict, out := f.run(t, progC, f.lxc1, icmpEcho(t, c1MAC, routerMAC, c1IP, outsideIP, 64))
		require.Equal(t, uint32(tcActRedirect), verdict)
		d := decodeChecked(t, out)
		require.Equal(t, underlayIP, d.src)
		require.GreaterOrEqual(t, d.icmpID, uint16(natMin))
		reply := serialize(t, eth(outsideMAC, f.underlayMAC, layers.EthernetTypeIPv4), ipv4(outsideIP, underlayIP, 64, layers.IPProtocolICMPv4),
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: d.icmpID, Seq: 1},
			gopacket.Payload("ebpfnet-test-payload"))
		verdict, back := f.run(t, progO, f.ul, reply)
		require.Equal(t, uint32(tcActRedirect), verdict)
		r := decodeChecked(t, back)
		require.Equal(t, c1IP, r.dst)
		require.Equal(t, uint16(7), r.icmpID, "original echo id restored")
	})

	t.Run("unrelated packet to the host passes untouched", func(t *testing.T) {
		in := udpPacket(t, outsideMAC, f.underlayMAC, outsideIP, 7777, underlayIP, 40001)
		verdict, out := f.run(t, progO, f.ul, in)
		require.Equal(t, uint32(tcActOK), verdict)
		require.Equal(t, in, out)
	})
}

// TestMasqueradePortsDistinctUntilExhausted: flows to one destination get distinct ports from
// the 64-port range; when no free port is found the new flow is dropped with its reason.
func TestMasqueradePortsDistinctUntilExhausted(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, HostNAT: true}))
	prog := f.dp.Programs().FromContainer
	seen := map[uint16]bool{}
	var verdict uint32
	var out []byte
	for sport := uint16(1000); sport < 1100; sport++ {
		verdict, out = f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, sport, outsideIP, 7777))
		if verdict != tcActRedirect {
			break
		}
		p := decodeChecked(t, out).sport
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
	require.Equal(t, uint32(tcActShot), verdict, "a 64-port range cannot serve 100 flows")
	require.GreaterOrEqual(t, len(seen), 32, "32 linear probes always find a free port while half the range is free")
	require.LessOrEqual(t, len(seen), natMax-natMin+1)
	require.Positive(t, f.counters(t)[bpf.DatapathMetricMETRIC_DROP_NAT_EXHAUSTED].Packets)
}

// TestConntrackFull: with the conntrack map full, a new flow is refused with drop_ct_full while
// an established flow keeps being translated.
func TestConntrackFull(t *testing.T) {
	f := newFixtureWith(t, loader.Options{CTMax: 8}) // 4 masqueraded flows, 2 entries each
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, HostNAT: true}))
	prog := f.dp.Programs().FromContainer
	for sport := uint16(2000); sport < 2004; sport++ {
		verdict, _ := f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, sport, outsideIP, 7777))
		require.Equal(t, uint32(tcActRedirect), verdict)
	}
	verdict, _ := f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 2004, outsideIP, 7777))
	require.Equal(t, uint32(tcActShot), verdict, "new flow refused")
	require.Equal(t, uint64(1), f.counters(t)[bpf.DatapathMetricMETRIC_DROP_CT_FULL].Packets)
	verdict, _ = f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 2001, outsideIP, 7777))
	require.Equal(t, uint32(tcActRedirect), verdict, "established flow still translated")
}

// TestPublishedPort: DNAT of hostIP:8080 to c2:80 keeping the client's address, reverse DNAT
// of the reply, and a remapped port taking the next packet of the same flow to the new target.
func TestPublishedPort(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	require.NoError(t, f.m.Published.Put(maps.PortMapping{HostPort: 8080, Proto: policy.ProtoTCP, IP: c2IP, Port: 80}))
	progC, progO := f.dp.Programs().FromContainer, f.dp.Programs().FromOverlay
	syn := tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 33333, underlayIP, 8080)

	verdict, out := f.run(t, progO, f.ul, syn)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	d := decodeChecked(t, out)
	require.Equal(t, outsideIP, d.src, "client address preserved")
	require.Equal(t, uint16(33333), d.sport)
	require.Equal(t, c2IP, d.dst)
	require.Equal(t, uint16(80), d.dport)
	require.Equal(t, c2MAC, d.dmac)

	verdict, back := f.run(t, progC, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 80, outsideIP, 33333))
	require.Equal(t, uint32(tcActRedirect), verdict)
	r := decodeChecked(t, back)
	require.Equal(t, underlayIP, r.src, "reply shows the published address")
	require.Equal(t, uint16(8080), r.sport)
	require.Equal(t, outsideIP, r.dst)
	require.Equal(t, outsideMAC, r.dmac)

	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, Published: true}))
	require.NoError(t, f.m.Published.Put(maps.PortMapping{HostPort: 8080, Proto: policy.ProtoTCP, IP: c1IP, Port: 8000}))
	_, out = f.run(t, progO, f.ul, syn)
	d = decodeChecked(t, out)
	require.Equal(t, c1IP, d.dst, "remapped: the same flow's next packet goes to the new container")
	require.Equal(t, uint16(8000), d.dport)

	other := tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 33333, underlayIP, 8081)
	verdict, out = f.run(t, progO, f.ul, other)
	require.Equal(t, uint32(tcActOK), verdict, "unpublished port is the host's")
	require.Equal(t, other, out)
}

// TestHairpin: a container reaching its own published port gets the packet back with the
// gateway as source (the kernel drops packets from its own address), and the reply is turned
// around to it with the published address as source.
func TestHairpin(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, Published: true, HostNAT: true}))
	require.NoError(t, f.m.Published.Put(maps.PortMapping{HostPort: 8080, Proto: policy.ProtoTCP, IP: c1IP, Port: 80}))
	prog := f.dp.Programs().FromContainer

	verdict, out := f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 44444, underlayIP, 8080))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	d := decodeChecked(t, out)
	require.Equal(t, gatewayIP, d.src)
	require.Equal(t, c1IP, d.dst)
	require.Equal(t, uint16(80), d.dport)

	verdict, back := f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 80, gatewayIP, 44444))
	require.Equal(t, uint32(tcActRedirect), verdict)
	r := decodeChecked(t, back)
	require.Equal(t, underlayIP, r.src)
	require.Equal(t, uint16(8080), r.sport)
	require.Equal(t, c1IP, r.dst)
	require.Equal(t, uint16(44444), r.dport)
}

// TestMasqueradeSkipsTunnelPorts: a masquerade range holding the VXLAN port (4789) and the
// WireGuard port never hands them out (a reply to them would be taken for tunnel traffic):
// with the range 4789-4790 and WireGuard on 4790, the first UDP flow finds no port.
func TestMasqueradeSkipsTunnelPorts(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256, HostNAT: true}))
	n, err := f.m.Node.Get()
	require.NoError(t, err)
	n.NATPortMin, n.NATPortMax, n.WireGuardPort = 4788, 4790, 4790
	require.NoError(t, f.m.Node.Set(n))
	prog := f.dp.Programs().FromContainer
	verdict, out := f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 1000, outsideIP, 7777))
	require.Equal(t, uint32(tcActRedirect), verdict)
	require.Equal(t, uint16(4788), decodeChecked(t, out).sport, "the one port that is no tunnel's")
	verdict, _ = f.run(t, prog, f.lxc1, udpPacket(t, c1MAC, routerMAC, c1IP, 1001, outsideIP, 7777))
	require.Equal(t, uint32(tcActShot), verdict)
	require.Equal(t, uint64(1), f.counters(t)[bpf.DatapathMetricMETRIC_DROP_NAT_EXHAUSTED].Packets)
}
