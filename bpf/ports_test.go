package bpf_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// TestPublishedPortEveryLocalAddress: a wildcard published port answers on every local
// address of the host (a secondary underlay address, another device's address, 127.0.0.1
// from the host itself, the reply going back to 127.0.0.1), and on nothing else: not on a
// neighbour's address, not on a link-layer broadcast, and not on 127.0.0.1 arriving from the
// wire (a martian; CVE-2020-8558).
func TestPublishedPortEveryLocalAddress(t *testing.T) {
	f := newFixture(t)
	secondary := netip.MustParseAddr("172.31.0.9")
	otherDev := netip.MustParseAddr("192.0.2.1")
	loopback := netip.MustParseAddr("127.0.0.1")
	h, err := netlink.NewHandleAt(f.ns)
	require.NoError(t, err)
	defer h.Close()
	f.addAddr(t, f.ul, secondary, 24)
	f.addAddr(t, addVeth(t, h, "other0", nil), otherDev, 32)
	lo, err := h.LinkByName("lo")
	require.NoError(t, err)
	require.NoError(t, h.LinkSetUp(lo))

	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257, Published: true}))
	require.NoError(t, f.m.Published.Put(maps.PortMapping{HostPort: 8080, Proto: policy.ProtoTCP, IP: c2IP, Port: 80}))
	progO, progH, progC := f.dp.Programs().FromOverlay, f.dp.Programs().FromHost, f.dp.Programs().FromContainer

	for _, dst := range []netip.Addr{underlayIP, secondary, otherDev} {
		verdict, out := f.run(t, progO, f.ul, tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 33333, dst, 8080))
		require.Equal(t, uint32(tcActRedirect), verdict, "SYN to %s:8080 from outside; counters %v", dst, f.counters(t))
		d := decodeChecked(t, out)
		require.Equal(t, c2IP, d.dst, "SYN to %s:8080", dst)
		require.Equal(t, outsideIP, d.src, "client kept")
	}
	broadcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for name, pkt := range map[string][]byte{
		"a neighbour's address":         tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 33333, netip.MustParseAddr("172.31.0.77"), 8080),
		"subnet broadcast":              udpPacket(t, outsideMAC, broadcast, outsideIP, 33333, netip.MustParseAddr("172.31.0.255"), 8080),
		"127.0.0.1 from the wire":       tcpSyn(t, outsideMAC, f.underlayMAC, outsideIP, 33333, loopback, 8080),
		"127.0.0.1 from the wire, self": tcpSyn(t, outsideMAC, f.underlayMAC, loopback, 33333, loopback, 8080),
	} {
		if name == "subnet broadcast" {
			require.NoError(t, f.m.Published.Put(maps.PortMapping{HostPort: 8080, Proto: policy.ProtoUDP, IP: c2IP, Port: 80}))
		}
		before := f.counters(t)
		verdict, out := f.run(t, progO, f.ul, pkt)
		require.Equal(t, uint32(tcActOK), verdict, name)
		require.Equal(t, pkt, out[:len(pkt)], "%s: untouched", name)
		require.Zero(t, counted(t, f, bpf.DatapathMetricMETRIC_FWD_DNAT, before), name)
	}

	// The host's own connection to 127.0.0.1:8080 (loopback ingress): the container sees the
	// gateway as source, and its reply goes back as 127.0.0.1:8080 -> 127.0.0.1.
	loSyn := tcpSyn(t, make(net.HardwareAddr, 6), make(net.HardwareAddr, 6), loopback, 40001, loopback, 8080)
	verdict, out := f.run(t, progH, 1, loSyn)
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	d := decodeChecked(t, out)
	require.Equal(t, c2IP, d.dst)
	require.Equal(t, uint16(80), d.dport)
	require.Equal(t, gatewayIP, d.src, "a loopback client is masqueraded, or the container answers its own lo")

	verdict, back := f.run(t, progC, f.lxc2, tcpSyn(t, c2MAC, routerMAC, c2IP, 80, gatewayIP, 40001))
	require.Equal(t, uint32(tcActRedirect), verdict, "counters %v", f.counters(t))
	r := decodeChecked(t, back)
	require.Equal(t, loopback, r.src)
	require.Equal(t, uint16(8080), r.sport)
	require.Equal(t, loopback, r.dst)
	require.Equal(t, uint16(40001), r.dport)
}
