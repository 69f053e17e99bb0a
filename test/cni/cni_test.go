package cni

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/cni"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// container is a netns attached with cnitool.
type container struct {
	name string // bed netns name
	path string
	host *testbed.Host
	ifc  string // container interface
	ip   netip.Addr
	res  *current.Result
}

// ifVar is the cnitool environment selecting c's interface name.
func (c *container) ifVar() string { return "CNI_IFNAME=" + c.ifc }

// TestCNIAttachTrafficCheckDel: cnitool attaches 2 containers on each of 2 hosts (one on
// interface net1 instead of eth0); the result describes what exists (interfaces, address,
// gateway, route, as configured in the netns and stored by the agent with the pod labels), every
// pair pings, TCP flows same-host and cross-host, CHECK passes and notices a broken container,
// DEL twice is fine and removes it all.
func TestCNIAttachTrafficCheckDel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, nil)
	var cs []*container
	for i, h := range e.Hosts {
		for k := 1; k <= 2; k++ {
			name := fmt.Sprintf("c%d", 2*i+k)
			path, err := e.Bed.Netns(name)
			require.NoError(t, err)
			c := &container{name: name, path: path, host: h, ifc: "eth0"}
			if name == "c4" {
				c.ifc = "net1"
			}
			c.res = e.add(h, path, c.ifVar(), "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=pod-"+name)
			cs = append(cs, c)
			checkResult(t, e, c)
		}
	}
	require.NotEqual(t, cs[0].ip, cs[1].ip)

	ctx := context.Background()
	for _, from := range cs {
		for _, to := range cs {
			if from != to {
				st, err := e.Bed.Ping(ctx, from.name, to.ip, 3, 200*time.Millisecond)
				require.NoError(t, err)
				require.Equal(t, 3, st.Received, "ping %s(%s) -> %s(%s)", from.name, from.host.Name, to.name, to.host.Name)
			}
		}
	}
	for _, pair := range [][2]*container{{cs[0], cs[1]}, {cs[0], cs[3]}, {cs[2], cs[1]}} {
		tr, err := e.Bed.TCPTransfer(ctx, pair[0].name, pair[1].name, pair[1].ip, 5201, time.Second)
		require.NoError(t, err, "tcp %s -> %s", pair[0].name, pair[1].name)
		require.Positive(t, tr.Bytes)
		t.Logf("TCP %s(%s) -> %s(%s): %.2f Gbit/s", pair[0].name, pair[0].host.Name, pair[1].name, pair[1].host.Name, tr.Gbps)
	}

	for _, c := range cs {
		out, stderr, err := e.cnitool(c.host, "check", c.path, c.ifVar())
		require.NoError(t, err, "check %s: %s%s", c.name, out, stderr)
	}
	// CHECK notices a container whose address was removed.
	c := cs[3]
	addr := c.res.IPs[0].Address
	_, err := e.Bed.Run(ctx, c.name, "ip", "addr", "del", addr.String(), "dev", c.ifc)
	require.NoError(t, err)
	_, stderr, err := e.cnitool(c.host, "check", c.path, c.ifVar())
	require.Error(t, err)
	require.Contains(t, stderr, fmt.Sprintf("interface net1 in netns %q does not have address %s", c.path, addr.String()))

	// DEL, twice: endpoint, veth and address are gone, the other containers are untouched.
	h := c.host
	cid := e.endpointOf(h, c.path).Labels[cni.LabelContainerID]
	for range 2 {
		out, stderr, err := e.cnitool(h, "del", c.path, c.ifVar())
		require.NoError(t, err, "del: %s%s", out, stderr)
		_, ok := e.cniEndpoint(h, cid)
		require.False(t, ok, "endpoint deleted")
		require.Equal(t, []string{"lo"}, e.links(c.name), "veth gone from the container")
		require.NotContains(t, e.allocated(h), c.ip, "address released")
	}
	require.Len(t, e.endpoints(h), 1)
	st, err := e.Bed.Ping(ctx, cs[0].name, cs[2].ip, 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 2, st.Received, "remaining containers still talk")
}

// checkResult asserts that c's ADD result matches the agent's endpoint, the netns and
// host-local's allocation, and sets c.ip.
func checkResult(t *testing.T, e *env, c *container) {
	t.Helper()
	h, r := c.host, c.res
	gw := h.PodCIDR.Addr().Next()
	require.Equal(t, "1.1.0", r.CNIVersion)
	require.Len(t, r.IPs, 1)
	ip, ok := netip.AddrFromSlice(r.IPs[0].Address.IP.To4())
	require.True(t, ok)
	c.ip = ip
	require.True(t, h.PodCIDR.Contains(ip), "%s in %s", ip, h.PodCIDR)
	require.Equal(t, ip.String()+"/16", r.IPs[0].Address.String(), "prefix of the cluster CIDR, as configured")
	require.Equal(t, gw.String(), r.IPs[0].Gateway.String())
	require.Equal(t, 1, *r.IPs[0].Interface)
	require.Len(t, r.Routes, 1)
	require.Equal(t, "0.0.0.0/0", r.Routes[0].Dst.String())
	require.Equal(t, gw.String(), r.Routes[0].GW.String())

	ep := e.endpointOf(h, c.path)
	require.Equal(t, ip, ep.IP)
	require.Len(t, r.Interfaces, 2)
	require.Equal(t, ep.HostIfName, r.Interfaces[0].Name)
	require.Empty(t, r.Interfaces[0].Sandbox)
	require.Equal(t, c.ifc, r.Interfaces[1].Name)
	require.Equal(t, c.path, r.Interfaces[1].Sandbox)
	require.Equal(t, ep.MAC, r.Interfaces[1].Mac)
	require.Equal(t, 1450, r.Interfaces[1].Mtu)
	cid := ep.Labels[cni.LabelContainerID]
	require.True(t, strings.HasPrefix(cid, "cnitool-"), cid)
	require.Equal(t, cni.EndpointName(cid, c.ifc), ep.Name)
	require.Equal(t, map[string]string{cni.LabelContainerID: cid, cni.LabelNetwork: netName,
		cni.LabelPodNS: "shop", cni.LabelPodName: "pod-" + c.name}, ep.Labels)
	require.Equal(t, c.ifc, ep.IfName)
	require.Equal(t, 1450, ep.MTU)
	require.Equal(t, cid+" "+c.ifc, e.allocated(h)[ip], "host-local holds the address for this attachment")

	nl, err := e.Bed.Handle(c.name)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{c.ifc, "lo"}, e.links(c.name))
	l, err := nl.LinkByName(c.ifc)
	require.NoError(t, err)
	require.Equal(t, 1450, l.Attrs().MTU)
	require.Equal(t, ep.MAC, l.Attrs().HardwareAddr.String())
	require.NotZero(t, l.Attrs().Flags&net.FlagUp)
	addrs, err := nl.AddrList(l, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	require.Equal(t, ip.String()+"/16", addrs[0].IPNet.String())
	routes, err := nl.RouteList(l, netlink.FAMILY_V4)
	require.NoError(t, err)
	var defGW string
	for _, rt := range routes {
		if rt.Dst == nil || rt.Dst.String() == "0.0.0.0/0" {
			defGW = rt.Gw.String()
		}
	}
	require.Equal(t, gw.String(), defGW, "default route")
}

// TestCNIDelFreesAddress: with a 2-address pool, a third ADD fails leaving nothing; DEL (twice)
// frees the address for it; DEL after the runtime already deleted the netns succeeds and frees
// that address too. The config's linkMTUOverhead lowers the MTU of both veth ends.
func TestCNIDelFreesAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, map[string]any{"linkMTUOverhead": 50, "ipam": map[string]any{"type": "host-local",
		"ranges": []any{[]any{map[string]any{
			"subnet": "10.42.1.0/24", "rangeStart": "10.42.1.10", "rangeEnd": "10.42.1.11", "gateway": "10.42.1.1"}}}}})
	h := e.Hosts[0]
	a, err := e.Bed.Netns("a")
	require.NoError(t, err)
	b := e.ownNetns("b")
	c, err := e.Bed.Netns("c")
	require.NoError(t, err)
	ipOf := func(r *current.Result) string { return r.IPs[0].Address.IP.String() }

	ra := e.add(h, a)
	require.Equal(t, "10.42.1.10", ipOf(ra))
	require.Equal(t, 1400, ra.Interfaces[1].Mtu, "1450 - linkMTUOverhead 50")
	for _, l := range []struct{ ns, name string }{{"a", "eth0"}, {h.Name, ra.Interfaces[0].Name}} {
		nl, err := e.Bed.Handle(l.ns)
		require.NoError(t, err)
		link, err := nl.LinkByName(l.name)
		require.NoError(t, err)
		require.Equal(t, 1400, link.Attrs().MTU, "%s in %s", l.name, l.ns)
	}
	require.Equal(t, "10.42.1.11", ipOf(e.add(h, b)))
	out, stderr, err := e.cnitool(h, "add", c)
	require.Error(t, err, out)
	require.Contains(t, stderr, "no IP addresses available in range set: 10.42.1.10-10.42.1.11")
	require.Len(t, e.endpoints(h), 2)
	require.Equal(t, []string{"lo"}, e.links("c"))

	for range 2 {
		out, stderr, err := e.cnitool(h, "del", a)
		require.NoError(t, err, out, stderr)
	}
	require.Equal(t, []string{"lo"}, e.links("a"))
	require.Len(t, e.allocated(h), 1)
	require.Equal(t, "10.42.1.10", ipOf(e.add(h, c)), "the freed address is handed out again")

	// The runtime deleted b's netns (and with it the veth) before DEL.
	e.delNetns(b)
	out, stderr, err = e.cnitool(h, "del", b)
	require.NoError(t, err, out, stderr)
	require.Len(t, e.endpoints(h), 1, "b's endpoint is gone from the agent")
	require.Equal(t, map[netip.Addr]bool{netip.MustParseAddr("10.42.1.10"): true}, keys(e.allocated(h)))
	require.Equal(t, "10.42.1.11", ipOf(e.add(h, a)))
}

func keys[K comparable, V any](m map[K]V) map[K]bool {
	out := map[K]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// TestCNIFailedAddLeavesNothing: a bad config, a netns that is gone, the host's own netns, port
// mappings, and an address the agent refuses all fail with CNI error JSON and the right code, and leave no
// endpoint, no veth, no map entry and no allocated address.
func TestCNIFailedAddLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, nil)
	h := e.Hosts[0]
	x, err := e.Bed.Netns("x")
	require.NoError(t, err)
	gone := e.ownNetns("gone")
	e.delNetns(gone)
	hostNetns, err := e.Bed.Path(h.Name) // the namespace the plugin and the agent run in
	require.NoError(t, err)
	epsMap := dumpMap(t, h, "endpoints")
	vars := func(netns string) []string {
		return []string{"CNI_CONTAINERID=ctr-x", "CNI_NETNS=" + netns, "CNI_IFNAME=eth0"}
	}
	cases := []struct {
		name  string
		conf  []byte
		netns string
		extra []string
		code  uint
		msg   string
	}{
		{"malformed JSON", []byte(`{"cniVersion":"1.1.0","name":"ebpfnet",`), x, nil, 6, "error unmarshall network config"},
		{"wrong type", e.pluginConf(h, map[string]any{"mtu": "jumbo"}), x, nil, 6, "decode network config"},
		{"bad MTU", e.pluginConf(h, map[string]any{"mtu": 1450, "linkMTUOverhead": 1400}), x, nil, 7,
			"container MTU 50 (mtu 1450 - linkMTUOverhead 1400) is out of range 68..65535"},
		{"MTU above the agent's", e.pluginConf(h, map[string]any{"mtu": 9000}), x, nil, 7, "the agent allows 68..1450"},
		{"bad CNI_ARGS", e.pluginConf(h, nil), x, []string{"CNI_ARGS=K8S_POD_NAME=a;FOO=b"}, 4, `unknown args ["FOO=b"]`},
		{"netns gone", e.pluginConf(h, nil), gone, nil, 3, fmt.Sprintf("container netns %q: no such file or directory", gone)},
		{"host netns", e.pluginConf(h, nil), hostNetns, nil, 4, fmt.Sprintf("CNI_NETNS %q is the host's network namespace", hostNetns)},
		{"host netns by /proc", e.pluginConf(h, nil), "/proc/self/ns/net", nil, 4, `CNI_NETNS "/proc/self/ns/net" is the host's network namespace`},
		{"address refused by the agent", e.pluginConf(h, map[string]any{"ipam": map[string]any{"type": "host-local",
			"dataDir": e.ipamDir(h), "ranges": []any{[]any{map[string]any{"subnet": "10.42.9.0/24"}}}}}), x, nil, 999,
			"IP 10.42.9.2 is outside this node's pod CIDR 10.42.1.0/24"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, perr := e.invoke(h, "ADD", tc.conf, append(vars(tc.netns), tc.extra...)...)
			require.NotNil(t, perr, "ADD must fail: %s", out)
			require.Equal(t, tc.code, perr.Code, "code of %+v", perr)
			require.Contains(t, perr.Msg, tc.msg)
			require.Empty(t, e.endpoints(h), "no endpoint")
			require.Empty(t, e.allocated(h), "no address allocated")
			require.Equal(t, []string{"lo"}, e.links("x"), "no veth in the container")
			require.Equal(t, epsMap, dumpMap(t, h, "endpoints"), "endpoints map unchanged")
		})
	}

	// A port the agent refuses (a host process holds it) fails the ADD through cnitool with the
	// agent's message, and rolls everything back.
	holder, err := e.Bed.ListenTCP(h.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 7070))
	require.NoError(t, err)
	_, stderr, err := e.cnitool(h, "add", x, `CAP_ARGS={"portMappings":[{"hostPort":7070,"containerPort":80,"protocol":"tcp"}]}`)
	require.NoError(t, holder.Close())
	require.Error(t, err)
	require.Contains(t, stderr, "port 7070/tcp is in use by a process on this host")
	require.Empty(t, e.endpoints(h))
	require.Empty(t, e.allocated(h))
	// Nothing left over stands in the way of a good ADD.
	r := e.add(h, x)
	require.Len(t, e.allocated(h), 1)
	require.Equal(t, r.IPs[0].Address.IP.String(), e.endpointOf(h, x).IP.String())

	// A second attachment of the container is its second interface (issue 14), without a
	// default route: eth0 keeps it; both pass CHECK.
	_, stderr, err = e.cnitool(h, "add", x, "CNI_IFNAME=net1")
	require.NoError(t, err, stderr)
	require.Len(t, e.endpoints(h), 2)
	require.Len(t, e.allocated(h), 2)
	require.ElementsMatch(t, []string{"eth0", "lo", "net1"}, e.links("x"))
	routes, err := e.Bed.Run(t.Context(), "x", "ip", "-4", "route", "show", "default")
	require.NoError(t, err)
	require.Equal(t, "default via 10.42.1.1 dev eth0", strings.TrimSpace(routes))
	for _, ifc := range []string{"eth0", "net1"} {
		out, stderr, err := e.cnitool(h, "check", x, "CNI_IFNAME="+ifc)
		require.NoError(t, err, out, stderr)
	}
}

// TestCNIGC: GC with valid attachments deletes only the stale attachment of this network
// (endpoint, veth, address) and keeps the valid one and endpoints the plugin did not make;
// cnitool gc (no valid attachments) then removes every attachment of the network.
func TestCNIGC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, nil)
	h := e.Hosts[0]
	keepPath, err := e.Bed.Netns("keep")
	require.NoError(t, err)
	stalePath, err := e.Bed.Netns("stale")
	require.NoError(t, err)
	keep, stale := e.add(h, keepPath), e.add(h, stalePath)
	_, err = e.AddContainer(h, "manual", netip.MustParseAddr("10.42.1.200"))
	require.NoError(t, err)
	keepID, staleID := e.endpointOf(h, keepPath).Labels[cni.LabelContainerID], e.endpointOf(h, stalePath).Labels[cni.LabelContainerID]
	require.NotEqual(t, keepID, staleID)

	conf := e.pluginConf(h, map[string]any{"cni.dev/valid-attachments": []any{
		map[string]any{"containerID": keepID, "ifname": "eth0"},
		map[string]any{"containerID": "cnitool-elsewhere", "ifname": "eth0"}}})
	out, perr := e.invoke(h, "GC", conf)
	require.Nil(t, perr, "GC: %s", out)
	_, ok := e.cniEndpoint(h, staleID)
	require.False(t, ok, "stale endpoint deleted")
	require.Equal(t, []string{"lo"}, e.links("stale"))
	alloc := e.allocated(h)
	require.NotContains(t, alloc, netip.MustParseAddr(stale.IPs[0].Address.IP.String()), "stale address released")
	require.Equal(t, keepID+" eth0", alloc[netip.MustParseAddr(keep.IPs[0].Address.IP.String())])
	_, ok = e.cniEndpoint(h, keepID)
	require.True(t, ok, "valid attachment kept")
	st, err := e.Bed.Ping(context.Background(), "keep", netip.MustParseAddr("10.42.1.200"), 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 2, st.Received, "kept container still works")

	out, stderr, err := e.cnitool(h, "gc", keepPath)
	require.NoError(t, err, out, stderr)
	eps := e.endpoints(h)
	require.Len(t, eps, 1)
	require.Equal(t, "manual", eps[0].Name, "endpoints made without the plugin are never collected")
	require.Empty(t, e.allocated(h))
	require.Equal(t, []string{"lo"}, e.links("keep"))
}

// TestCNIStatusAndAgentDown: STATUS is fine with an agent and error 50 without; with the agent
// down, ADD is error 11 and allocates nothing, DEL is error 11 and keeps the address (the
// endpoint may still use it) until the agent is back and DEL is retried.
func TestCNIStatusAndAgentDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, nil)
	h := e.Hosts[0]
	out, stderr, err := e.cnitool(h, "status", "/unused")
	require.NoError(t, err, out, stderr)
	out, perr := e.invoke(h, "STATUS", e.pluginConf(h, nil))
	require.Nil(t, perr, out)

	s1, err := e.Bed.Netns("s1")
	require.NoError(t, err)
	s2, err := e.Bed.Netns("s2")
	require.NoError(t, err)
	r := e.add(h, s1)
	ip := netip.MustParseAddr(r.IPs[0].Address.IP.String())
	cid := e.endpointOf(h, s1).Labels[cni.LabelContainerID]

	require.NoError(t, e.KillAgent(h))
	_, perr = e.invoke(h, "STATUS", e.pluginConf(h, nil))
	require.NotNil(t, perr)
	require.Equal(t, uint(50), perr.Code)
	require.Contains(t, perr.Msg, "ebpfnet agent not available: cannot reach the ebpfnet agent at "+h.Socket)
	_, stderr, err = e.cnitool(h, "status", "/unused")
	require.Error(t, err)
	require.Contains(t, stderr, "ebpfnet agent not available")

	vars := []string{"CNI_CONTAINERID=ctr-s2", "CNI_NETNS=" + s2, "CNI_IFNAME=eth0"}
	_, perr = e.invoke(h, "ADD", e.pluginConf(h, nil), vars...)
	require.NotNil(t, perr)
	require.Equal(t, uint(11), perr.Code)
	require.Contains(t, perr.Msg, "cannot reach the ebpfnet agent")
	require.Equal(t, map[netip.Addr]string{ip: cid + " eth0"}, e.allocated(h), "ADD allocated nothing")

	delVars := []string{"CNI_CONTAINERID=" + cid, "CNI_NETNS=" + s1, "CNI_IFNAME=eth0"}
	_, perr = e.invoke(h, "DEL", e.pluginConf(h, nil), delVars...)
	require.NotNil(t, perr)
	require.Equal(t, uint(11), perr.Code)
	require.Contains(t, e.allocated(h), ip, "address kept while the endpoint may exist")

	require.NoError(t, e.StartAgent(h))
	out, perr = e.invoke(h, "DEL", e.pluginConf(h, nil), delVars...)
	require.Nil(t, perr, out)
	require.Empty(t, e.endpoints(h))
	require.Empty(t, e.allocated(h))
	require.Equal(t, []string{"lo"}, e.links("s1"))
}

// TestCNIPortMappings: the portMappings capability publishes ports through the BPF map (no
// portmap plugin, no iptables); the published port reaches the container from the host's own
// IP and from outside; DEL unpublishes.
func TestCNIPortMappings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, nil)
	h := e.Hosts[0]
	outside := netip.MustParseAddr("172.31.0.100")
	require.NoError(t, e.AddOutside("out", outside))
	x, err := e.Bed.Netns("x")
	require.NoError(t, err)
	r := e.add(h, x, `CAP_ARGS={"portMappings":[{"hostPort":8080,"containerPort":5201,"protocol":"tcp"}]}`)
	ip, _ := netip.AddrFromSlice(r.IPs[0].Address.IP.To4())
	out, err := e.CLI(h, "publish", "list")
	require.NoError(t, err)
	require.Contains(t, out, "8080")
	for _, client := range []string{"out", h.Name} {
		tr, err := e.Bed.TCPTransferVia(context.Background(), client, "x", netip.AddrPortFrom(ip, 5201),
			netip.AddrPortFrom(h.UnderlayIP, 8080), time.Second)
		require.NoError(t, err, "client %s", client)
		require.Positive(t, tr.Bytes)
	}
	_, stderr, err := e.cnitool(h, "del", x, `CAP_ARGS={"portMappings":[{"hostPort":8080,"containerPort":5201,"protocol":"tcp"}]}`)
	require.NoError(t, err, stderr)
	require.Equal(t, "[]\n", dumpMap(t, h, "published"), "DEL unpublished the port")
}

// TestCNIOnEtcdCluster: three hosts coordinated through etcd alone (no --pod-cidr, no peer
// add); containers attached with the real cnitool and host-local reach each other across all
// hosts (ping and TCP).
func TestCNIOnEtcdCluster(t *testing.T) {
	t.Parallel()
	e := newEtcdEnv(t, 3)
	var cs []*container
	for i, h := range e.Hosts {
		name := fmt.Sprintf("c%d", i+1)
		path, err := e.Bed.Netns(name)
		require.NoError(t, err)
		c := &container{name: name, path: path, host: h, ifc: "eth0"}
		c.res = e.add(h, path, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=pod-"+name)
		checkResult(t, e, c)
		cs = append(cs, c)
	}
	ctx := context.Background()
	for _, from := range cs {
		for _, to := range cs {
			if from == to {
				continue
			}
			require.Eventually(t, func() bool { // routes arrive through the store's watch
				st, err := e.Bed.Ping(ctx, from.name, to.ip, 1, 100*time.Millisecond)
				return err == nil && st.Received == 1
			}, 10*time.Second, 200*time.Millisecond, "ping %s(%s) -> %s(%s)", from.name, from.host.Name, to.name, to.host.Name)
			st, err := e.Bed.Ping(ctx, from.name, to.ip, 3, 200*time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, 3, st.Received)
		}
	}
	for _, pair := range [][2]*container{{cs[0], cs[1]}, {cs[1], cs[2]}, {cs[2], cs[0]}} {
		tr, err := e.Bed.TCPTransfer(ctx, pair[0].name, pair[1].name, pair[1].ip, 5201, time.Second)
		require.NoError(t, err, "tcp %s -> %s", pair[0].name, pair[1].name)
		require.Positive(t, tr.Bytes)
		t.Logf("TCP %s(%s) -> %s(%s): %.1f Gbit/s", pair[0].name, pair[0].host.Name, pair[1].name, pair[1].host.Name, tr.Gbps)
	}
}
