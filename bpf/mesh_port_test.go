package bpf_test

import (
	"net"
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

// meshEntry sends a mesh client's SYN from outsideIP:sport to dst:30080 through f's
// from_overlay and returns the packet sent to the backend (inner packet when encapsulated).
func meshEntry(t *testing.T, f *fixture, sport uint16, dst netip.Addr) decoded {
	t.Helper()
	verdict, out := f.run(t, f.dp.Programs().FromOverlay, f.ul, tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, sport, dst, 30080))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	return decodeChecked(t, out[vxlanInnerOff:])
}

// setMeshSlice rewrites f's node configuration with the mesh source-port slice [lo, hi].
func setMeshSlice(t *testing.T, f *fixture, lo, hi uint16) {
	t.Helper()
	n, err := f.m.Node.Get()
	require.NoError(t, err)
	n.MeshPortMin, n.MeshPortMax = lo, hi
	require.NoError(t, f.m.Node.Set(n))
}

// TestMeshSourcePort (issue 15): the entry host translates a mesh client's source port into
// its own slice, so one client (same address, same source port) reaching one backend through
// two entry addresses, or two entry hosts, is two tuples at the backend, not one; the flow
// keeps its port; replies get hostIP:PORT and the client's own port back; the slice bounds
// hold and an exhausted slice drops with drop_nat_exhausted.
func TestMeshSourcePort(t *testing.T) {
	f := newFixture(t)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080},
		[]maps.Backend{{IP: remoteB1, Port: 8080}})
	// A second address of this host: the same client port reaches the one backend twice.
	second := netip.MustParseAddr("172.31.0.9")
	f.addAddr(t, f.ul, second, 24)

	a := meshEntry(t, f, 45000, underlayIP)
	require.Equal(t, remoteB1, a.dst)
	require.Equal(t, outsideIP, a.src, "the client's address kept")
	require.True(t, a.sport >= meshMin && a.sport <= meshMax, "source port %d in this host's slice", a.sport)
	require.Equal(t, a.sport, meshEntry(t, f, 45000, underlayIP).sport, "the flow's next packet: the same port")
	b := meshEntry(t, f, 45000, second)
	require.Equal(t, remoteB1, b.dst)
	require.NotEqual(t, a.sport, b.sport, "one client port through two entry addresses: two tuples at the backend")
	require.True(t, b.sport >= meshMin && b.sport <= meshMax)

	// The backend's replies, back through the tunnel: each to the client's own port, from the
	// address it dialed.
	for _, c := range []struct {
		port  uint16
		entry netip.Addr
	}{{a.sport, underlayIP}, {b.sport, second}} {
		reply := tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, c.port)
		verdict, back := f.run(t, f.dp.Programs().FromOverlay, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50001, testVNI, 0, reply))
		require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
		r := decodeChecked(t, back)
		require.Equal(t, c.entry, r.src)
		require.Equal(t, uint16(30080), r.sport)
		require.Equal(t, outsideIP, r.dst)
		require.Equal(t, uint16(45000), r.dport, "the client's own port restored")
	}

	// Another entry host (its own datapath, the next slice): the same client port gets a
	// port of that slice, never one of this host's.
	g := newFixture(t)
	setMeshSlice(t, g, meshMax+1, meshMax+128)
	putService(t, g, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080},
		[]maps.Backend{{IP: remoteB1, Port: 8080}})
	for sport := uint16(45000); sport < 45020; sport++ {
		p := meshEntry(t, g, sport, underlayIP).sport
		require.True(t, p > meshMax && p <= meshMax+128, "port %d in the other host's slice", p)
	}

	// A slice of 2 ports: two flows of one client to one backend take both, the third is
	// refused (drop_nat_exhausted) and nothing leaves with a port outside the slice.
	setMeshSlice(t, f, 51000, 51001)
	got := map[uint16]bool{meshEntry(t, f, 46000, underlayIP).sport: true, meshEntry(t, f, 46001, underlayIP).sport: true}
	require.Equal(t, map[uint16]bool{51000: true, 51001: true}, got)
	before := f.counters(t)
	verdict, _ := f.run(t, f.dp.Programs().FromOverlay, f.ul, tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 46002, underlayIP, 30080))
	require.Equal(t, uint32(tcActShot), verdict)
	require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_NAT_EXHAUSTED, before))
}

// TestMeshSourcePortLocalBackend: a local mesh backend sees the translated port too (UDP
// here), and its reply leaves from hostIP:PORT to the client's own port; a second packet of
// the flow keeps its port.
func TestMeshSourcePortLocalBackend(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	putService(t, f, maps.Service{VIP: svcVIP, Port: 53, Proto: policy.ProtoUDP, ID: 7, Mesh: 30053},
		[]maps.Backend{{IP: c2IP, Port: 5353}})
	progO, progC := f.dp.Programs().FromOverlay, f.dp.Programs().FromContainer
	query := udpPacket(t, outsideMAC, f.underlayMAC, outsideIP, 45000, underlayIP, 30053)
	var port uint16
	for i := 0; i < 2; i++ {
		verdict, out := f.run(t, progO, f.ul, query)
		require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
		d := decodeChecked(t, out)
		require.Equal(t, c2IP, d.dst)
		require.Equal(t, outsideIP, d.src)
		require.True(t, d.sport >= meshMin && d.sport <= meshMax, "source port %d in the slice", d.sport)
		if i == 1 {
			require.Equal(t, port, d.sport, "the flow keeps its port")
		}
		port = d.sport
	}
	verdict, back := f.run(t, progC, f.lxc2, udpPacket(t, c2MAC, routerMAC, c2IP, 5353, outsideIP, port))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	r := decodeChecked(t, back)
	require.Equal(t, underlayIP, r.src)
	require.Equal(t, uint16(30053), r.sport)
	require.Equal(t, outsideIP, r.dst)
	require.Equal(t, uint16(45000), r.dport, "the client's own port restored")
}

// tcpFin is a FIN+ACK segment src:sport -> dst:dport.
func tcpFin(t *testing.T, smac, dmac net.HardwareAddr, src netip.Addr, sport uint16, dst netip.Addr, dport uint16) []byte {
	return serialize(t, eth(smac, dmac, layers.EthernetTypeIPv4), ipv4(src, dst, 64, layers.IPProtocolTCP),
		&layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), FIN: true, ACK: true, Seq: 2000, Ack: 3000, Window: 64240},
		gopacket.Payload("fin"))
}

// TestMeshSourcePortReuse: a closed connection's mesh port (FIN from both sides) goes to a new
// flow once it has been closed for a second (lb_mesh_port.h MESH_PORT_REUSE_NS), never an open
// one's; the closed flow's late packet does not take the port back from its new owner.
func TestMeshSourcePortReuse(t *testing.T) {
	f := newFixture(t)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080},
		[]maps.Backend{{IP: remoteB1, Port: 8080}})
	setMeshSlice(t, f, 51000, 51001)
	progO := f.dp.Programs().FromOverlay
	a, b := meshEntry(t, f, 46000, underlayIP).sport, meshEntry(t, f, 46001, underlayIP).sport
	require.ElementsMatch(t, []uint16{51000, 51001}, []uint16{a, b})
	// replyTo sends the backend's segment to mesh port p through the tunnel and returns the
	// client port it reached.
	replyTo := func(pkt []byte) uint16 {
		t.Helper()
		verdict, back := f.run(t, progO, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50001, testVNI, 0, pkt))
		require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
		return decodeChecked(t, back).dport
	}

	// The flow on 46000 closes: the client's FIN, then the backend's.
	verdict, _ := f.run(t, progO, f.ul, tcpFin(t, outsideMAC, f.underlayMAC, outsideIP, 46000, underlayIP, 30080))
	require.Equal(t, uint32(tcActRedirect), verdict)
	require.Equal(t, uint16(46000), replyTo(tcpFin(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, a)))
	time.Sleep(meshPortReuseWait)

	c := meshEntry(t, f, 46002, underlayIP).sport
	require.Equal(t, a, c, "the closed connection's port goes to the new flow")
	require.Equal(t, uint16(46002), replyTo(tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, c)))
	require.Equal(t, uint16(46001), replyTo(tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, b)), "the open flow keeps its port")

	// A late segment of the closed flow finds its port taken and no other free: dropped,
	// and the port stays the new flow's.
	before := f.counters(t)
	verdict, _ = f.run(t, progO, f.ul, tcpFin(t, outsideMAC, f.underlayMAC, outsideIP, 46000, underlayIP, 30080))
	require.Equal(t, uint32(tcActShot), verdict)
	require.Equal(t, uint64(1), counted(t, f, bpf.DatapathMetricMETRIC_DROP_NAT_EXHAUSTED, before))
	require.Equal(t, uint16(46002), replyTo(tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, c)))
}

// meshPortReuseWait outlasts MESH_PORT_REUSE_NS (1 s) after a close.
const meshPortReuseWait = 1100 * time.Millisecond

// TestMeshSourcePortUpgrade: a mesh connection translated before the slices (an older build:
// node_config without a slice keeps the client's port) keeps its port once the slice is set,
// and its replies still reach it; a new connection gets a port of the slice.
func TestMeshSourcePortUpgrade(t *testing.T) {
	f := newFixture(t)
	putService(t, f, maps.Service{VIP: svcVIP, Port: 80, Proto: policy.ProtoTCP, ID: 5, Mesh: 30080},
		[]maps.Backend{{IP: remoteB1, Port: 8080}})
	setMeshSlice(t, f, 0, 0)
	require.Equal(t, uint16(45000), meshEntry(t, f, 45000, underlayIP).sport, "no slice: the client's port")
	setMeshSlice(t, f, meshMin, meshMax)
	require.Equal(t, uint16(45000), meshEntry(t, f, 45000, underlayIP).sport, "the established flow keeps its port")
	reply := tcpSyn(t, peerMAC, routerMAC, remoteB1, 8080, outsideIP, 45000)
	verdict, back := f.run(t, f.dp.Programs().FromOverlay, f.ul, vxlanFrame(t, peerMAC, f.underlayMAC, peerIP, underlayIP, 50001, testVNI, 0, reply))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	require.Equal(t, uint16(45000), decodeChecked(t, back).dport)
	p := meshEntry(t, f, 45001, underlayIP).sport
	require.True(t, p >= meshMin && p <= meshMax, "a new flow: port %d of the slice", p)
}
