package bpf_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/lb"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

var (
	svcVIP   = netip.MustParseAddr("10.43.0.10")
	remoteB1 = netip.MustParseAddr("10.42.2.5")
	remoteB2 = netip.MustParseAddr("10.42.2.6")
)

// vxlanInnerOff is where the inner frame of our VXLAN encapsulation starts.
const vxlanInnerOff = 14 + 20 + 8 + 8

// putService programs svc with backends as the agent does: the Maglev table of the backends'
// "IP:port" names.
func putService(t *testing.T, f *fixture, svc maps.Service, backends []maps.Backend) []maps.Backend {
	t.Helper()
	var table []maps.Backend
	if len(backends) > 0 {
		names := make([]string, len(backends))
		for i, b := range backends {
			names[i] = fmt.Sprintf("%s:%d", b.IP, b.Port)
		}
		idx, err := lb.Table(names, f.m.Services.TableSize())
		require.NoError(t, err)
		table = make([]maps.Backend, len(idx))
		for i, b := range idx {
			table[i] = backends[b]
		}
	}
	svc.Backends = uint16(len(backends))
	require.NoError(t, f.m.Services.Put(svc, backends, table))
	return table
}

// serviceDst runs a container's packet through from_container and returns where it went: the
// destination of the delivered packet (local backend) or of the encapsulated inner packet.
func serviceDst(t *testing.T, f *fixture, pkt []byte) decoded {
	t.Helper()
	verdict, out := f.run(t, f.dp.Programs().FromContainer, f.lxc1, pkt)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
	if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.DstPort == 4789 {
		return decodeChecked(t, out[vxlanInnerOff:])
	}
	return decodeChecked(t, out)
}

// The Maglev table size in C (LB_MAGLEV_SIZE) is the Go one.
func TestServiceMapShapes(t *testing.T) {
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)
	require.Equal(t, uint32(lb.DefaultTableSize), spec.Maps[bpf.DatapathMapLbMaglev].InnerMap.MaxEntries)
}

// TestServiceMaglevChoice: new connections to VIP:80 from c1 go to the backend the Go Maglev
// table gives for the 5-tuple's lb.FlowHash (local c2 or either remote backend, encapsulated),
// with the client's address kept; replies get VIP:80 back, from a local backend (its own
// veth) and from a remote one (through the overlay).
func TestServiceMaglevChoice(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	backends := []maps.Backend{{IP: c2IP, Port: 8080}, {IP: remoteB1, Port: 8080}, {IP: remoteB2, Port: 8080}}
	table := putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 1}, backends)

	seen := map[netip.Addr]int{}
	before := f.counters(t)
	const conns = 60
	for sport := uint16(40000); sport < 40000+conns; sport++ {
		want := table[lb.FlowHash(c1IP, svcVIP, sport, 80, policy.ProtoTCP)%uint32(len(table))]
		d := serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80))
		require.Equal(t, want.IP, d.dst, "sport %d: the Go Maglev choice", sport)
		require.Equal(t, uint16(8080), d.dport)
		require.Equal(t, c1IP, d.src, "the backend sees the client's address")
		require.Equal(t, sport, d.sport)
		seen[d.dst]++

		// The next packet of the connection takes the same backend.
		again := serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80))
		require.Equal(t, want.IP, again.dst)

		// The reply comes back as from VIP:80.
		var verdict uint32
		var out []byte
		if want.IP == c2IP {
			verdict, out = f.run(t, f.dp.Programs().FromContainer, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 8080, c1IP, sport))
		} else {
			inner := tcpSyn(t, peerMAC, routerMAC, want.IP, 8080, c1IP, sport)
			verdict, out = f.run(t, f.dp.Programs().FromOverlay, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50000, testVNI, 0, inner))
		}
		require.Equal(t, uint32(tcActRedirect), verdict, "reply from %s; counters %v", want.IP, f.counters(t))
		r := decodeChecked(t, out)
		require.Equal(t, svcVIP, r.src, "reply from %s", want.IP)
		require.Equal(t, uint16(80), r.sport)
		require.Equal(t, c1IP, r.dst)
	}
	require.Len(t, seen, 3, "every backend chosen: %v", seen)
	require.Equal(t, uint64(2*conns), counted(t, f, bpf.DatapathMetricMETRIC_FWD_SERVICE, before))
}

// TestServiceAffinity: with client-ip affinity every connection of a client takes the slot of
// lb.ClientHash.
func TestServiceAffinity(t *testing.T) {
	f := newFixture(t)
	backends := []maps.Backend{{IP: c2IP, Port: 8080}, {IP: remoteB1, Port: 8080}, {IP: remoteB2, Port: 8080}}
	table := putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoUDP, ID: 7, Flags: maps.ServiceAffinityClient}, backends)
	want := table[lb.ClientHash(c1IP)%uint32(len(table))]
	for sport := uint16(41000); sport < 41020; sport++ {
		d := serviceDst(t, f, udpPacket(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80))
		require.Equal(t, want.IP, d.dst, "sport %d", sport)
	}
}

// TestServiceKeepsBackend: an established connection keeps its backend when backends are
// added (conntrack remembers the choice), and moves only when its own backend is removed.
func TestServiceKeepsBackend(t *testing.T) {
	f := newFixture(t)
	svc := maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 2}
	putService(t, f, svc, []maps.Backend{{IP: remoteB1, Port: 8080}})
	var sports []uint16
	for sport := uint16(42000); sport < 42030; sport++ {
		require.Equal(t, remoteB1, serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80)).dst)
		sports = append(sports, sport)
	}
	putService(t, f, svc, []maps.Backend{{IP: remoteB1, Port: 8080}, {IP: remoteB2, Port: 8080}})
	for _, sport := range sports {
		require.Equal(t, remoteB1, serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80)).dst, "sport %d kept", sport)
	}
	putService(t, f, svc, []maps.Backend{{IP: remoteB2, Port: 8080}})
	for _, sport := range sports {
		require.Equal(t, remoteB2, serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, svcVIP, 80)).dst, "sport %d moved", sport)
	}
}

// TestServiceNoBackend: a service without backends answers a TCP SYN and a UDP datagram with
// an ICMP port unreachable from the VIP back to the client (quoting the packet), counted as
// drop_no_backend; nothing goes anywhere else.
func TestServiceNoBackend(t *testing.T) {
	f := newFixture(t)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 3}, nil)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 53, Proto: policy.ProtoUDP, ID: 4}, nil)
	for name, pkt := range map[string][]byte{
		"tcp": tcpSyn(t, c1MAC, routerMAC, c1IP, 43000, svcVIP, 80),
		"udp": udpPacket(t, c1MAC, routerMAC, c1IP, 43000, svcVIP, 53),
	} {
		before := f.counters(t)
		verdict, out := f.run(t, f.dp.Programs().FromContainer, f.lxc1, pkt)
		require.Equal(t, uint32(tcActRedirect), verdict, name)
		p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
		e := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		require.Equal(t, c1MAC, e.DstMAC, name)
		require.Equal(t, routerMAC, e.SrcMAC, name)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		require.Equal(t, svcVIP.AsSlice(), []byte(ip.SrcIP.To4()), name)
		require.Equal(t, c1IP.AsSlice(), []byte(ip.DstIP.To4()), name)
		icmp := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		require.Equal(t, layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort), icmp.TypeCode, name)
		require.Equal(t, pkt[14:14+28], icmp.Payload[:28], "%s: quotes the original header and 8 bytes", name)
		// Checksums as computed from scratch.
		ipSum, icmpSum := ip.Checksum, icmp.Checksum
		buf := gopacket.NewSerializeBuffer()
		require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ip, icmp, gopacket.Payload(icmp.Payload)))
		re := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
		require.Equal(t, re.Layer(layers.LayerTypeIPv4).(*layers.IPv4).Checksum, ipSum, name)
		require.Equal(t, re.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4).Checksum, icmpSum, name)
		require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_NO_BACKEND, before), name)
		require.Zero(t, counted(t, f, bpf.DatapathMetricMETRIC_FWD_SERVICE, before), name)
	}
	// Another port of the VIP is no service: left to the host as any outside destination.
	verdict, _ := f.run(t, f.dp.Programs().FromContainer, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 43000, svcVIP, 81))
	require.NotEqual(t, uint32(tcActRedirect), verdict)
}

// TestServiceMesh: a mesh port answers on the underlay address; a connection from outside goes
// to the Go Maglev choice (here the remote backend, encapsulated, or the local one), keeping the
// client's address. The backend's host takes the tunnelled outside packet only for a local
// mesh backend, and sends the reply back to the entry host; the entry host restores its
// address and port and routes the reply to the client.
func TestServiceMesh(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	backends := []maps.Backend{{IP: c2IP, Port: 8080}, {IP: remoteB1, Port: 8080}}
	table := putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080}, backends)
	progO, progC := f.dp.Programs().FromOverlay, f.dp.Programs().FromContainer

	// Entry host: outside -> underlayIP:30080.
	seen := map[netip.Addr]bool{}
	for sport := uint16(45000); sport < 45040; sport++ {
		want := table[lb.FlowHash(outsideIP, underlayIP, sport, 30080, policy.ProtoTCP)%uint32(len(table))]
		verdict, out := f.run(t, progO, f.ul, tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, sport, underlayIP, 30080))
		require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
		p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
		inner := out
		if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && udp.DstPort == 4789 {
			inner = out[vxlanInnerOff:]
		}
		d := decodeChecked(t, inner)
		require.Equal(t, want.IP, d.dst, "sport %d", sport)
		require.Equal(t, outsideIP, d.src, "the client's address kept")
		require.True(t, d.sport >= meshMin && d.sport <= meshMax, "source port %d: this host's mesh slice", d.sport)
		seen[d.dst] = true
		if want.IP != remoteB1 {
			continue
		}
		// The remote backend's reply comes back through the tunnel and leaves as from
		// underlayIP:30080 to the client's own port.
		reply := tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, d.sport)
		verdict, back := f.run(t, progO, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50001, testVNI, 0, reply))
		require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
		r := decodeChecked(t, back)
		require.Equal(t, underlayIP, r.src)
		require.Equal(t, uint16(30080), r.sport)
		require.Equal(t, outsideIP, r.dst)
		require.Equal(t, sport, r.dport)
		require.Equal(t, outsideMAC, r.dmac)
	}
	require.Len(t, seen, 2, "both backends chosen")

	// Backend's host: a peer's VXLAN with an outside inner source reaches c2 only as a mesh
	// backend, and c2's reply goes back to that peer.
	syn := tcpSyn(t, peerMAC, routerMAC, outsideIP, 46000, c2IP, 8080)
	tunnelled := vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50002, testVNI, 0, syn)
	before := f.counters(t)
	verdict, _ := f.run(t, progO, f.ul, tunnelled)
	require.Equal(t, uint32(tcActShot), verdict, "no mesh backend yet")
	require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE, before))
	require.NoError(t, f.m.Services.SetMeshBackends([]maps.Backend{{IP: c2IP, Port: 8080}}))
	verdict, out := f.run(t, progO, f.ul, tunnelled)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	d := decodeChecked(t, out)
	require.Equal(t, c2IP, d.dst)
	require.Equal(t, outsideIP, d.src)
	verdict, back := f.run(t, progC, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 8080, outsideIP, 46000))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	outer := gopacket.NewPacket(back, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, peerIP.AsSlice(), []byte(outer.DstIP.To4()), "the reply goes back to the entry host")
	r := decodeChecked(t, back[vxlanInnerOff:])
	require.Equal(t, c2IP, r.src, "untranslated: the entry host restores its own address")
	require.Equal(t, outsideIP, r.dst)
	// Another port of c2 is no mesh backend: still a spoofed source.
	other := vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50002, testVNI, 0, tcpSyn(t, peerMAC, routerMAC, outsideIP, 46000, c2IP, 22))
	verdict, _ = f.run(t, progO, f.ul, other)
	require.Equal(t, uint32(tcActShot), verdict)
}

// TestServicePolicy: policy is decided on the backend's identity and port, as if the client had
// connected to the backend directly: under default deny, c1 -> VIP:80 (backend c2:8080) is
// dropped until c1 -> c2 on port 8080 is allowed; allowing port 80 (the service's) is not it.
func TestServicePolicy(t *testing.T) {
	f := newFixture(t)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 6}, []maps.Backend{{IP: c2IP, Port: 8080}})
	prog := f.dp.Programs().FromContainer
	enablePolicy(t, f, maps.PolicyEntry{Src: c1ID, Dst: c2ID, Proto: policy.ProtoTCP, Port: 80, Allow: true})
	before := f.counters(t)
	verdict, _ := f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 47000, svcVIP, 80))
	require.Equal(t, uint32(tcActShot), verdict)
	require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_POLICY, before))

	enablePolicy(t, f, maps.PolicyEntry{Src: c1ID, Dst: c2ID, Proto: policy.ProtoTCP, Port: 8080, Allow: true})
	d := serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, 47001, svcVIP, 80))
	require.Equal(t, c2IP, d.dst)
}

// TestServiceMeshFromCluster: a container's connection to a mesh port of its host's address
// (hairpin) goes to the Go Maglev choice for its 5-tuple, keeping its address; a peer host's
// own connection to a local mesh backend (inner source the peer's address, its remote-node
// entry) is tracked, so the backend's reply goes back to that peer inside the tunnel instead
// of being routed to the peer's address.
func TestServiceMeshFromCluster(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: netip.PrefixFrom(peerIP, 32), TunnelEndpoint: peerIP, Identity: maps.IdentityRemoteNode}))
	backends := []maps.Backend{{IP: c2IP, Port: 8080}, {IP: remoteB1, Port: 8080}}
	table := putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080}, backends)
	require.NoError(t, f.m.Services.SetMeshBackends([]maps.Backend{{IP: c2IP, Port: 8080}}))

	seen := map[netip.Addr]bool{}
	for sport := uint16(47000); sport < 47040; sport++ {
		want := table[lb.FlowHash(c1IP, underlayIP, sport, 30080, policy.ProtoTCP)%uint32(len(table))]
		d := serviceDst(t, f, tcpSyn(t, c1MAC, routerMAC, c1IP, sport, underlayIP, 30080))
		require.Equal(t, want.IP, d.dst, "sport %d", sport)
		require.Equal(t, c1IP, d.src, "the client's address kept")
		seen[d.dst] = true
	}
	require.Len(t, seen, 2, "both backends chosen")

	progO, progC := f.dp.Programs().FromOverlay, f.dp.Programs().FromContainer
	reply := tcpSyn(t, c2MAC, routerMAC, c2IP, 8080, peerIP, 48000)
	verdict, _ := f.run(t, progC, f.lxc2, reply)
	require.Equal(t, uint32(tcActOK), verdict, "untracked: to the host stack, routed to the peer's address")
	syn := tcpSyn(t, peerMAC, routerMAC, peerIP, 48000, c2IP, 8080)
	verdict, out := f.run(t, progO, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50003, testVNI, 0, syn))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	require.Equal(t, peerIP, decodeChecked(t, out).src)
	verdict, back := f.run(t, progC, f.lxc2, reply)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	outer := gopacket.NewPacket(back, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	require.Equal(t, peerIP.AsSlice(), []byte(outer.DstIP.To4()), "the reply goes back to the entry host in the tunnel")
	require.Equal(t, peerIP, decodeChecked(t, back[vxlanInnerOff:]).dst)
}
