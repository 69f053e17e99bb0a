package bpf_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
)

// Fixture addresses: this host is 172.31.0.1 on "ul0", its peer VTEP 172.31.0.2; containers
// c1 (10.42.1.2) and c2 (10.42.1.3) sit behind host-side veths lxc1 and lxc2.
var (
	underlayIP = netip.MustParseAddr("172.31.0.1")
	peerIP     = netip.MustParseAddr("172.31.0.2")
	peerMAC    = net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02}
	routerMAC  = net.HardwareAddr{0x0e, 0x00, 172, 31, 0, 1}
	c1IP       = netip.MustParseAddr("10.42.1.2")
	c1MAC      = net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x02}
	c2IP       = netip.MustParseAddr("10.42.1.3")
	c2MAC      = net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x03}
	cluster    = netip.MustParsePrefix("10.42.0.0/16")
	localCIDR  = netip.MustParsePrefix("10.42.1.0/24")
	remoteCIDR = netip.MustParsePrefix("10.42.2.0/24")
	outsideIP  = netip.MustParseAddr("172.31.0.100") // a host outside the cluster, on the underlay
	outsideMAC = net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x64}
)

const (
	testVNI        = 1042
	natMin, natMax = 40000, 40063 // small masquerade range: exhaustion is testable
	// This host's slice of the routing mesh's source ports (node_params.mesh_port_min/max).
	meshMin, meshMax = 50000, 50127
)

var gatewayIP = netip.MustParseAddr("10.42.1.1")

// fixture is a loaded datapath plus a private netns holding the devices its programs see.
type fixture struct {
	dp             *loader.Datapath
	m              maps.Set
	ns             netns.NsHandle
	ul, lxc1, lxc2 int // ifindexes in ns
	underlayMAC    net.HardwareAddr
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (BPF_PROG_TEST_RUN, netns)")
	}
}

// newFixture loads the datapath with maps pinned in a per-test bpffs dir and builds the
// devices in a fresh anonymous netns; both are removed at cleanup.
func newFixture(t *testing.T) *fixture { return newFixtureWith(t, loader.Options{}) }

// newFixtureWith is newFixture with loader options (e.g. a small conntrack map).
func newFixtureWith(t *testing.T, opts loader.Options) *fixture {
	requireRoot(t)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	pinDir := filepath.Join(loader.DefaultBPFFS, "ebpfnet-ut-"+hex.EncodeToString(suffix))
	t.Cleanup(func() { _ = loader.Remove(pinDir) }) // also when loading fails half-way
	dp, err := loader.Load(pinDir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = dp.Close() })

	f := &fixture{dp: dp, m: dp.Maps(), ns: newNetns(t)}
	h, err := netlink.NewHandleAt(f.ns)
	require.NoError(t, err)
	defer h.Close()
	f.ul = addVeth(t, h, "ul0", nil)
	f.lxc1 = addVeth(t, h, "lxc1", routerMAC)
	f.lxc2 = addVeth(t, h, "lxc2", routerMAC)
	ul, err := h.LinkByIndex(f.ul)
	require.NoError(t, err)
	f.underlayMAC = ul.Attrs().HardwareAddr
	require.NoError(t, h.AddrAdd(ul, &netlink.Addr{IPNet: &net.IPNet{IP: underlayIP.AsSlice(), Mask: net.CIDRMask(24, 32)}}))
	// bpf_fib_lookup answers only for devices with IPv4 forwarding on (the agent sets it).
	f.inNetns(t, func() {
		require.NoError(t, os.WriteFile("/proc/sys/net/ipv4/conf/ul0/forwarding", []byte("1"), 0o644))
	})
	for ip, mac := range map[netip.Addr]net.HardwareAddr{peerIP: peerMAC, outsideIP: outsideMAC} {
		require.NoError(t, h.NeighAdd(&netlink.Neigh{LinkIndex: f.ul, State: netlink.NUD_PERMANENT, IP: ip.AsSlice(), HardwareAddr: mac}))
	}

	require.NoError(t, f.m.Node.Set(maps.Node{UnderlayIP: underlayIP, UnderlayIfIndex: f.ul, VNI: testVNI, Cluster: cluster, RouterMAC: routerMAC,
		Gateway: gatewayIP, NATPortMin: natMin, NATPortMax: natMax, MeshPortMin: meshMin, MeshPortMax: meshMax}))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c1IP, IfIndex: f.lxc1, MAC: c1MAC, Identity: 256}))
	require.NoError(t, f.m.Endpoints.Put(maps.Endpoint{IP: c2IP, IfIndex: f.lxc2, MAC: c2MAC, Identity: 257}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: localCIDR}))
	require.NoError(t, f.m.IPCache.Put(maps.Route{Prefix: remoteCIDR, TunnelEndpoint: peerIP, Identity: 3}))
	require.NoError(t, f.m.Peers.Put(maps.Peer{IP: peerIP}))
	return f
}

// addAddr adds ip/prefixLen to device ifindex in f's netns (a second host address, say).
func (f *fixture) addAddr(t *testing.T, ifindex int, ip netip.Addr, prefixLen int) {
	t.Helper()
	h, err := netlink.NewHandleAt(f.ns)
	require.NoError(t, err)
	defer h.Close()
	l, err := h.LinkByIndex(ifindex)
	require.NoError(t, err)
	require.NoError(t, h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(prefixLen, 32)}}))
}

// newNetns creates an anonymous netns without leaving the calling thread in it.
func newNetns(t *testing.T) netns.NsHandle {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	ns, err := netns.New()
	require.NoError(t, err)
	require.NoError(t, netns.Set(orig))
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}

// addVeth adds an up veth pair name/name+"p" and returns name's ifindex.
func addVeth(t *testing.T, h *netlink.Handle, name string, mac net.HardwareAddr) int {
	la := netlink.NewLinkAttrs()
	la.Name = name
	la.HardwareAddr = mac
	require.NoError(t, h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: name + "p"}))
	for _, n := range []string{name, name + "p"} {
		l, err := h.LinkByName(n)
		require.NoError(t, err)
		require.NoError(t, h.LinkSetUp(l))
	}
	l, err := h.LinkByName(name)
	require.NoError(t, err)
	return l.Attrs().Index
}

// skbCtx is the head of struct __sk_buff up to ifindex (offset 40); BPF_PROG_TEST_RUN takes
// the packet's device from ifindex and skb->skb_iif from ingress_ifindex (offset 36). Other
// fields must stay zero.
type skbCtx struct {
	_              [9]uint32
	IngressIfindex uint32
	Ifindex        uint32
}

// run executes prog once on pkt as if received on ifindex, inside the fixture's netns (helpers
// such as bpf_fib_lookup resolve there). Returns the verdict and the packet after the program.
func (f *fixture) run(t *testing.T, prog *ebpf.Program, ifindex int, pkt []byte) (uint32, []byte) {
	t.Helper()
	var (
		ret  uint32
		err  error
		opts = &ebpf.RunOptions{Data: pkt, DataOut: make([]byte, len(pkt)+256), Context: skbCtx{IngressIfindex: uint32(ifindex), Ifindex: uint32(ifindex)}}
	)
	f.inNetns(t, func() { ret, err = prog.Run(opts) })
	require.NoError(t, err)
	return ret, opts.DataOut
}

// inNetns runs fn on a locked OS thread switched into the fixture's netns, then switches back.
func (f *fixture) inNetns(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	require.NoError(t, netns.Set(f.ns))
	defer func() { require.NoError(t, netns.Set(orig)) }()
	fn()
}

// dropEvents opens the drop-event reader (one per datapath), closed at cleanup.
func (f *fixture) dropEvents(t *testing.T) *maps.DropEvents {
	t.Helper()
	ev, err := f.dp.DropEvents()
	require.NoError(t, err)
	t.Cleanup(func() { ev.Close() })
	return ev
}

// counters reads the metric counters.
func (f *fixture) counters(t *testing.T) map[maps.Metric]maps.Counter {
	t.Helper()
	c, err := f.m.Metrics.Read()
	require.NoError(t, err)
	return c
}

// tcCase is one table row of a program test: packet in, verdict, packet out and counter.
type tcCase struct {
	name      string
	ifindex   int // 0: the underlay device
	in        []byte
	verdict   uint32
	want      []byte      // expected packet out; nil = unchanged input (not checked for drops)
	metric    maps.Metric // counter that must move by exactly one packet
	uncounted bool        // no counter may move at all
}

// runCases runs each case through prog as a subtest.
func (f *fixture) runCases(t *testing.T, prog *ebpf.Program, cases []tcCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ifindex := tc.ifindex
			if ifindex == 0 {
				ifindex = f.ul
			}
			before := f.counters(t)
			verdict, out := f.run(t, prog, ifindex, tc.in)
			require.Equal(t, tc.verdict, verdict, "verdict")
			want := tc.want
			if want == nil {
				want = tc.in
			}
			if verdict != tcActShot {
				require.Equal(t, want, out, "packet out")
			}
			after := f.counters(t)
			if tc.uncounted {
				require.Equal(t, before, after, "no counter may move")
				return
			}
			require.Equal(t, before[tc.metric].Packets+1, after[tc.metric].Packets, "counter %s", maps.MetricName(tc.metric))
		})
	}
}
