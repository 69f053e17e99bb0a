package e2e

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// addPooledContainer attaches netns name to h on network net without --ip: the agent picks
// the next free address of h's slice, read from the command's JSON answer.
func addPooledContainer(t *testing.T, c *testbed.Cluster, h *testbed.Host, name, net string) *testbed.Container {
	t.Helper()
	path, err := c.Bed.Netns(name)
	require.NoError(t, err)
	out, err := c.CLI(h, "endpoint", "add", name, "--netns", path, "--network", net, "-o", "json")
	require.NoError(t, err, out)
	var ep api.Endpoint
	require.NoError(t, json.Unmarshal([]byte(out), &ep), out)
	ct := &testbed.Container{Name: name, Host: h, IP: ep.IP}
	c.Containers = append(c.Containers, ct)
	return ct
}

// networkSlices is `network inspect name` on h: node name -> its slice.
func networkSlices(t *testing.T, c *testbed.Cluster, h *testbed.Host, name string) map[string]netip.Prefix {
	t.Helper()
	out, err := c.CLI(h, "network", "inspect", name)
	require.NoError(t, err, out)
	var info api.NetworkInfo
	require.NoError(t, json.Unmarshal([]byte(out), &info), out)
	got := map[string]netip.Prefix{}
	for _, s := range info.Slices {
		got[s.Node] = s.CIDR
	}
	return got
}

// TestNetworkSlicesEtcd: with etcd each node gets its own slice of each network (front /16
// in /24s by default, back /16 in /26s by --node-prefix-len) on its first endpoint there;
// endpoints added without --ip take the next free address of their node's slice; the
// networks reach across hosts (ping, TCP) and never each other; `network inspect` lists the
// slices; and a host's ipcache routes the other host's slice of each network with one entry,
// beside one /32 per remote endpoint carrying its identity.
func TestNetworkSlicesEtcd(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	ec.meshed(t)
	ctx := t.Context()
	h1, h2 := ec.Hosts[0], ec.Hosts[1]
	out, err := ec.CLI(h1, "network", "create", "front", "--subnet", "10.43.0.0/16", "--vni", "4096")
	require.NoError(t, err, out)
	out, err = ec.CLI(h2, "network", "create", "back", "--subnet", "10.44.0.0/16", "--vni", "4097", "--node-prefix-len", "26")
	require.NoError(t, err, out)
	refusedUnchanged(t, ec.Cluster, h1, "invalid node prefix length /12 for subnet 10.50.0.0/16: want /16 to /30",
		"network", "create", "wide", "--subnet", "10.50.0.0/16", "--node-prefix-len", "12")

	f1 := addPooledContainer(t, ec.Cluster, h1, "f1", "front")
	f2 := addPooledContainer(t, ec.Cluster, h2, "f2", "front")
	f3 := addPooledContainer(t, ec.Cluster, h2, "f3", "front")
	b1 := addPooledContainer(t, ec.Cluster, h1, "b1", "back")
	b2 := addPooledContainer(t, ec.Cluster, h2, "b2", "back")

	front, back := networkSlices(t, ec.Cluster, h2, "front"), networkSlices(t, ec.Cluster, h1, "back")
	t.Logf("slices: front %v, back %v; f1 %s f2 %s f3 %s b1 %s b2 %s", front, back, f1.IP, f2.IP, f3.IP, b1.IP, b2.IP)
	require.Len(t, front, 2, "h1 and h2 have a slice of front, h3 (no endpoint there) none")
	require.Len(t, back, 2)
	require.NotEqual(t, front[h1.Name], front[h2.Name])
	for _, s := range []netip.Prefix{front[h1.Name], front[h2.Name]} {
		require.Equal(t, 24, s.Bits(), "front's default slice: subnet + 8")
	}
	for _, s := range []netip.Prefix{back[h1.Name], back[h2.Name]} {
		require.Equal(t, 26, s.Bits(), "back's --node-prefix-len")
	}
	firstFree := func(s netip.Prefix) netip.Addr { return s.Addr().Next().Next() } // after the gateway
	require.Equal(t, firstFree(front[h1.Name]), f1.IP)
	require.Equal(t, firstFree(front[h2.Name]), f2.IP)
	require.Equal(t, firstFree(front[h2.Name]).Next(), f3.IP)
	require.Equal(t, firstFree(back[h1.Name]), b1.IP)
	require.Equal(t, firstFree(back[h2.Name]), b2.IP)
	out, err = ec.CLI(h1, "endpoint", "connect", "f1", "front", "--ip", f2.IP.String())
	require.Error(t, err)
	require.Contains(t, out, "endpoint f1 is already on network front")
	spare, err := ec.Bed.Netns("spare")
	require.NoError(t, err)
	refusedUnchanged(t, ec.Cluster, h1, "IP "+f2.IP.String()+" is outside this node's slice "+front[h1.Name].String()+" of network front",
		"endpoint", "add", "x", "--netns", spare, "--network", "front", "--ip", f2.IP.String())

	// One route per peer slice: h1 routes h2's slice of each network via h2, and h2's
	// endpoints by /32s with their identities.
	for _, s := range []netip.Prefix{front[h2.Name], back[h2.Name]} {
		waitIPCacheRoute(t, h1, s, h2.UnderlayIP, 10*time.Second)
	}
	waitIPCacheRoute(t, h2, front[h1.Name], h1.UnderlayIP, 10*time.Second)
	host32 := func(c *testbed.Container) string { return netip.PrefixFrom(c.IP, 32).String() }
	for _, c := range []*testbed.Container{f2, f3, b2} {
		waitIPCacheRoute(t, h1, netip.PrefixFrom(c.IP, 32), h2.UnderlayIP, 10*time.Second)
	}
	inNetworks := map[string]string{}
	for p, via := range ipcacheRoutes(t, h1) {
		if netip.MustParsePrefix("10.43.0.0/16").Overlaps(p) || netip.MustParsePrefix("10.44.0.0/16").Overlaps(p) {
			inNetworks[p.String()] = via.String()
		}
	}
	t.Logf("h1's ipcache within the networks: %v", inNetworks)
	require.Equal(t, map[string]string{
		front[h1.Name].String(): "invalid IP", back[h1.Name].String(): "invalid IP", // own slices: dropped, not tunnelled
		front[h2.Name].String(): h2.UnderlayIP.String(), back[h2.Name].String(): h2.UnderlayIP.String(),
		host32(f2): h2.UnderlayIP.String(), host32(f3): h2.UnderlayIP.String(), host32(b2): h2.UnderlayIP.String(),
	}, inNetworks, "h1's ipcache within the networks' subnets: one route per slice, a /32 per remote endpoint")

	for _, p := range [][2]*testbed.Container{{f1, f2}, {f3, f1}, {b1, b2}, {b2, b1}} {
		require.Eventually(t, func() bool {
			ping, err := ec.Bed.Ping(ctx, p[0].Name, p[1].IP, 1, 0)
			return err == nil && ping.Received == 1
		}, 10*time.Second, 200*time.Millisecond, "%s reaches %s", p[0].Name, p[1].Name)
		ping, err := ec.Bed.Ping(ctx, p[0].Name, p[1].IP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s -> %s", p[0].Name, p[1].Name)
	}
	tr, err := ec.Bed.TCPTransfer(ctx, f1.Name, f2.Name, f2.IP, 5201, time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes, "TCP f1 -> f2")
	tr, err = ec.Bed.TCPTransfer(ctx, b2.Name, b1.Name, b1.IP, 5202, time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes, "TCP b2 -> b1")
	crossBefore := counter(t, ec.Cluster, h1, "drop_cross_network") + counter(t, ec.Cluster, h2, "drop_cross_network")
	for _, p := range [][2]*testbed.Container{{f1, b2}, {b1, f2}, {f2, b1}, {b2, f1}, {f1, b1}} {
		ping, err := ec.Bed.Ping(ctx, p[0].Name, p[1].IP, 2, 200*time.Millisecond)
		require.NoError(t, err)
		require.Zero(t, ping.Received, "%s -> %s across networks", p[0].Name, p[1].Name)
	}
	require.GreaterOrEqual(t, counter(t, ec.Cluster, h1, "drop_cross_network")+counter(t, ec.Cluster, h2, "drop_cross_network")-crossBefore, uint64(10),
		"every probe across networks is counted")
}
