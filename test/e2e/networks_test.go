package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// networkDefs are the networks the network tests create on every host, beside the default
// one (10.42.0.0/16, VNI 1042): host i owns the /24 10.4x.i.0 of each.
var networkDefs = []struct{ name, subnet, vni string }{
	{"front", "10.43.0.0/16", "4096"},
	{"back", "10.44.0.0/16", "4097"},
}

// networkCluster is a 2-host cluster (local store, static peers) with one container per host
// on each of the default, front and back networks: c1/c2 (10.42.{1,2}.2), f1/f2
// (10.43.{1,2}.2) and b1/b2 (10.44.{1,2}.2); the containers map names them by network.
func networkCluster(t *testing.T) (*testbed.Cluster, map[string][]*testbed.Container) {
	c := newCluster(t, 2, 1)
	byNet := map[string][]*testbed.Container{"default": {c.Containers[0], c.Containers[1]}}
	for _, h := range c.Hosts {
		for _, n := range networkDefs {
			_, err := c.CLI(h, "network", "create", n.name, "--subnet", n.subnet, "--vni", n.vni)
			require.NoError(t, err)
		}
	}
	for i, h := range c.Hosts {
		other := c.Hosts[1-i]
		for _, n := range networkDefs {
			third := netip.MustParsePrefix(n.subnet).Addr().As4()[1]
			_, err := c.CLI(h, "peer", "add", fmt.Sprintf("10.%d.%d.0/24", third, 2-i), "--host", other.UnderlayIP.String())
			require.NoError(t, err)
			ct := addNetworkContainer(t, c, h, fmt.Sprintf("%c%d", n.name[0], i+1), n.name, netip.AddrFrom4([4]byte{10, third, byte(i + 1), 2}))
			byNet[n.name] = append(byNet[n.name], ct)
		}
	}
	return c, byNet
}

// addNetworkContainer creates netns name and attaches it to h on network net with ip and
// labels ("key=value").
func addNetworkContainer(t *testing.T, c *testbed.Cluster, h *testbed.Host, name, net string, ip netip.Addr, labels ...string) *testbed.Container {
	t.Helper()
	path, err := c.Bed.Netns(name)
	require.NoError(t, err)
	args := []string{"endpoint", "add", name, "--netns", path, "--ip", ip.String(), "--network", net}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	out, err := c.CLI(h, args...)
	require.NoError(t, err, out)
	ct := &testbed.Container{Name: name, Host: h, IP: ip}
	c.Containers = append(c.Containers, ct)
	return ct
}

// netAddr is one interface of a container: its netns, address and network.
type netAddr struct {
	ns, net string
	ip      netip.Addr
}

// reachability probes from every container (netns) to every interface of another one with
// one ping, one TCP connect and one UDP datagram (to port), all at once, and returns
// "ns->ip proto" for each probe that got through.
func reachability(t *testing.T, c *testbed.Cluster, ifaces []netAddr, port uint16) map[string]bool {
	got := map[string]bool{}
	var mu sync.Mutex
	mark := func(k string) { mu.Lock(); got[k] = true; mu.Unlock() }
	sources := map[string]bool{}
	for _, to := range ifaces {
		sources[to.ns] = true
		l, err := c.Bed.ListenTCP(to.ns, netip.AddrPortFrom(to.ip, port))
		require.NoError(t, err)
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.Close()
			}
		}()
		u, err := c.Bed.ListenUDP(to.ns, netip.AddrPortFrom(to.ip, port))
		require.NoError(t, err)
		t.Cleanup(func() { u.Close() })
		go func() {
			buf := make([]byte, 256)
			for {
				n, err := u.Read(buf)
				if err != nil {
					return
				}
				mark(string(buf[:n]))
			}
		}()
	}
	var wg sync.WaitGroup
	for from := range sources {
		for _, to := range ifaces {
			if from == to.ns {
				continue
			}
			probe := from + "->" + to.ip.String()
			wg.Go(func() {
				ping, err := c.Bed.Ping(context.Background(), from, to.ip, 1, 0)
				if err == nil && ping.Received == 1 {
					mark(probe + " icmp")
				}
				if conn, err := c.Bed.DialTCP(from, netip.AddrPortFrom(to.ip, port), 2*time.Second); err == nil {
					conn.Close()
					mark(probe + " tcp")
				}
				any := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
				if u, err := c.Bed.DialUDP(from, any, netip.AddrPortFrom(to.ip, port)); err == nil {
					_, _ = u.Write([]byte(probe + " udp"))
					u.Close()
				}
			})
		}
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // the last datagrams reach their listeners
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestNetworkIsolationMatrix: three networks on two hosts, a container on each host in each,
// and m1 on h1 in front and back (eth0, eth1); ping, TCP and UDP from every container to
// every interface of another get through exactly when they share a network (same host and
// cross host, m1 reaching both of its networks) and never across, where both hosts count
// drop_cross_network.
func TestNetworkIsolationMatrix(t *testing.T) {
	t.Parallel()
	c, byNet := networkCluster(t)
	path, err := c.Bed.Netns("m1")
	require.NoError(t, err)
	_, err = c.CLI(c.Hosts[0], "endpoint", "add", "m1", "--netns", path, "--network", "front", "--ip", "10.43.1.3", "--network", "back", "--ip", "10.44.1.3")
	require.NoError(t, err)
	ifaces := []netAddr{{"m1", "front", netip.MustParseAddr("10.43.1.3")}, {"m1", "back", netip.MustParseAddr("10.44.1.3")}}
	nets := map[string]map[string]bool{"m1": {"front": true, "back": true}}
	for net, cts := range byNet {
		for _, ct := range cts {
			ifaces = append(ifaces, netAddr{ct.Name, net, ct.IP})
			nets[ct.Name] = map[string]bool{net: true}
		}
	}
	crossBefore := [2]uint64{counter(t, c, c.Hosts[0], "drop_cross_network"), counter(t, c, c.Hosts[1], "drop_cross_network")}
	got := reachability(t, c, ifaces, 7070)
	var want, table []string
	probes, across := 0, 0
	for from := range nets {
		for _, to := range ifaces {
			if from == to.ns {
				continue
			}
			for _, proto := range []string{"icmp", "tcp", "udp"} {
				k := from + "->" + to.ip.String() + " " + proto
				probes++
				if nets[from][to.net] {
					want = append(want, k)
				}
				if got[k] {
					table = append(table, k)
					if !nets[from][to.net] {
						across++
					}
				}
			}
		}
	}
	t.Logf("isolation matrix: %d of %d probes within networks got through, %d of %d across",
		len(table)-across, len(want), across, probes-len(want))
	require.ElementsMatch(t, want, table, "reachable exactly within each network")
	for i, h := range c.Hosts {
		require.Greater(t, counter(t, c, h, "drop_cross_network"), crossBefore[i], "%s counts drop_cross_network", h.Name)
	}

	// Under default deny nothing gets through: within a network the policy drops it, across
	// networks the network rule does first.
	_, err = c.CLI(c.Hosts[0], "policy", "default", "deny")
	require.NoError(t, err)
	_, err = c.CLI(c.Hosts[1], "policy", "default", "deny")
	require.NoError(t, err)
	policyBefore := counter(t, c, c.Hosts[0], "drop_policy") + counter(t, c, c.Hosts[1], "drop_policy")
	crossBefore = [2]uint64{counter(t, c, c.Hosts[0], "drop_cross_network"), counter(t, c, c.Hosts[1], "drop_cross_network")}
	denied := reachability(t, c, ifaces, 7071)
	require.Empty(t, denied, "default deny")
	require.Greater(t, counter(t, c, c.Hosts[0], "drop_policy")+counter(t, c, c.Hosts[1], "drop_policy"), policyBefore)
	for i, h := range c.Hosts {
		require.Greater(t, counter(t, c, h, "drop_cross_network"), crossBefore[i], "%s counts drop_cross_network under deny", h.Name)
	}
	// m1's two interfaces are two endpoints on h1, each of its network's identity.
	out, err := c.Bed.Run(t.Context(), "m1", "ip", "-o", "-4", "addr", "show")
	require.NoError(t, err)
	require.Contains(t, out, "eth0    inet 10.43.1.3/16")
	require.Contains(t, out, "eth1    inet 10.44.1.3/16")
}

// TestNetworkConnectDuringStream: connecting a container to another network and
// disconnecting it again, while a cross-host TCP stream runs on a third one, gives it the new
// network's reach only while connected, and the stream survives.
func TestNetworkConnectDuringStream(t *testing.T) {
	t.Parallel()
	c, byNet := networkCluster(t)
	ctx := t.Context()
	c1, f1, f2 := byNet["default"][0], byNet["front"][0], byNet["front"][1]
	b1, b2 := byNet["back"][0], byNet["back"][1]
	type result struct {
		tr  testbed.Transfer
		err error
	}
	stream := make(chan result, 1)
	go func() {
		tr, err := c.Bed.TCPTransfer(ctx, f1.Name, f2.Name, f2.IP, 5201, 8*time.Second)
		stream <- result{tr, err}
	}()
	time.Sleep(time.Second) // the stream is under way
	reach := func(to *testbed.Container) int {
		ping, err := c.Bed.Ping(ctx, c1.Name, to.IP, 2, 200*time.Millisecond)
		require.NoError(t, err)
		return ping.Received
	}
	require.Zero(t, reach(b2), "c1 is not on back yet")

	_, err := c.CLI(c1.Host, "endpoint", "connect", c1.Name, "back", "--ip", "10.44.1.3")
	require.NoError(t, err)
	require.Equal(t, 2, reach(b1), "same host on back")
	require.Equal(t, 2, reach(b2), "cross host on back")
	require.Equal(t, 2, reach(byNet["default"][1]), "c1 keeps its default network")
	require.Zero(t, reach(f2), "nor does it reach front")

	_, err = c.CLI(c1.Host, "endpoint", "disconnect", c1.Name, "back")
	require.NoError(t, err)
	require.Zero(t, reach(b1), "disconnected")
	require.Zero(t, reach(b2), "disconnected")
	require.Equal(t, 2, reach(byNet["default"][1]), "c1 keeps its default network")

	r := <-stream
	require.NoError(t, r.err, "the front stream survives")
	t.Logf("front stream during connect/disconnect: %+v", r.tr)
	require.Positive(t, r.tr.Bytes)
}

// TestNetworkCLIBadInput: network requests that are malformed or clash with existing
// networks or endpoints fail with their message and leave every network, endpoint and
// ipcache map byte-identical.
func TestNetworkCLIBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 1) // c1 = 10.42.1.2 on h1
	h1 := c.Hosts[0]
	_, err := c.CLI(h1, "network", "create", "front", "--subnet", "10.43.0.0/16", "--vni", "4096")
	require.NoError(t, err)
	addNetworkContainer(t, c, h1, "f1", "front", netip.MustParseAddr("10.43.1.2"))
	spare, err := c.Bed.Netns("spare")
	require.NoError(t, err)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"overlapping subnet", []string{"network", "create", "x", "--subnet", "10.43.128.0/17"}, "subnet 10.43.128.0/17 overlaps network front (10.43.0.0/16)"},
		{"subnet overlapping default", []string{"network", "create", "x", "--subnet", "10.0.0.0/8"}, "subnet 10.0.0.0/8 overlaps network default (10.42.0.0/16)"},
		{"VNI in use", []string{"network", "create", "x", "--subnet", "10.50.0.0/16", "--vni", "4096"}, "VNI 4096 is in use by network front"},
		{"default VNI in use", []string{"network", "create", "x", "--subnet", "10.50.0.0/16", "--vni", "1042"}, "VNI 1042 is in use by network default"},
		{"VNI too big", []string{"network", "create", "x", "--subnet", "10.50.0.0/16", "--vni", "16777216"}, "invalid VNI 16777216"},
		{"bad name", []string{"network", "create", "a/b", "--subnet", "10.50.0.0/16"}, `invalid network name "a/b"`},
		{"taken name", []string{"network", "create", "front", "--subnet", "10.50.0.0/16"}, "network front already exists"},
		{"malformed subnet", []string{"network", "create", "x", "--subnet", "10.50.0.0/33"}, `invalid subnet "10.50.0.0/33"`},
		{"bad mode", []string{"network", "create", "x", "--subnet", "10.50.0.0/16", "--mode", "gre"}, `invalid mode "gre"`},
		{"rm with members", []string{"network", "rm", "front"}, "network front has 1 endpoints attached (f1)"},
		{"rm default", []string{"network", "rm", "default"}, "network default cannot be removed"},
		{"rm unknown", []string{"network", "rm", "nope"}, "network nope: not found"},
		{"inspect unknown", []string{"network", "inspect", "nope"}, "network nope: not found"},
		{"endpoint on unknown network", []string{"endpoint", "add", "x", "--netns", spare, "--ip", "10.50.1.2", "--network", "nope"}, "network nope: not found"},
		{"endpoint IP outside its network", []string{"endpoint", "add", "x", "--netns", spare, "--ip", "10.42.1.9", "--network", "front"}, "IP 10.42.1.9 is outside the subnet 10.43.0.0/16 of network front"},
		{"endpoint on its network's gateway", []string{"endpoint", "add", "x", "--netns", spare, "--ip", "10.43.1.1", "--network", "front"}, "IP 10.43.1.1 is reserved in 10.43.1.0/24 (network, gateway 10.43.1.1"},
		{"endpoint outside the node's slice", []string{"endpoint", "add", "x", "--netns", spare, "--ip", "10.43.2.9", "--network", "front"}, "IP 10.43.2.9 is outside this node's slice 10.43.1.0/24 of network front"},
		{"unpaired --ip and --network", []string{"endpoint", "add", "x", "--netns", spare, "--network", "front", "--ip", "10.43.1.9", "--network", "default"}, "1 --ip for 2 --network"},
		{"second network refused: nothing kept", []string{"endpoint", "add", "x", "--netns", spare, "--network", "front", "--ip", "10.43.1.9", "--network", "default", "--ip", "10.43.1.10"}, "IP 10.43.1.10 is outside the cluster CIDR 10.42.0.0/16"},
		{"connect to its own network", []string{"endpoint", "connect", "f1", "front", "--ip", "10.43.1.9"}, "endpoint f1 is already on network front (eth0, 10.43.1.2)"},
		{"connect to unknown network", []string{"endpoint", "connect", "f1", "nope", "--ip", "10.43.1.9"}, "network nope: not found"},
		{"connect unknown endpoint", []string{"endpoint", "connect", "nope", "front", "--ip", "10.43.1.9"}, "endpoint nope: not found"},
		{"connect with a taken IP", []string{"endpoint", "connect", "f1", "default", "--ip", "10.42.1.2"}, "IP 10.42.1.2 is already used by endpoint c1"},
		{"disconnect the first interface", []string{"endpoint", "disconnect", "f1", "front"}, "network front is endpoint f1's first interface (eth0)"},
		{"disconnect from a network it is not on", []string{"endpoint", "disconnect", "f1", "default"}, "endpoint f1 is not on network default"},
	}
	mapNames := []string{"endpoints", "ipcache", "networks", "network_subnets", "network_vnis"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]string{}
			for _, m := range mapNames {
				before[m] = dumpMap(t, h1, m)
			}
			lsBefore, err := c.CLI(h1, "network", "list", "-o", "json")
			require.NoError(t, err)
			out, err := c.CLI(h1, tc.args...)
			require.Error(t, err, "must fail: %s", out)
			require.Contains(t, out, tc.want)
			for _, m := range mapNames {
				require.Equal(t, before[m], dumpMap(t, h1, m), "%s map changed", m)
			}
			lsAfter, err := c.CLI(h1, "network", "list", "-o", "json")
			require.NoError(t, err)
			require.Equal(t, lsBefore, lsAfter, "stored networks changed")
		})
	}
	out, err := c.Bed.Run(t.Context(), "spare", "ip", "-o", "link", "show")
	require.NoError(t, err)
	require.NotContains(t, out, "eth0", "no veth left behind")
	out, err = c.Bed.Run(t.Context(), "f1", "ip", "-o", "link", "show")
	require.NoError(t, err)
	require.NotContains(t, out, "eth1", "no veth left behind by the refused connects")

	// rm works once the network is empty, and its datapath entries go.
	_, err = c.CLI(h1, "endpoint", "del", "f1")
	require.NoError(t, err)
	_, err = c.CLI(h1, "network", "rm", "front")
	require.NoError(t, err)
	require.Empty(t, mapEntries(t, h1, "network_subnets"))
	require.Empty(t, mapEntries(t, h1, "network_vnis"))
	out, err = c.CLI(h1, "network", "list")
	require.NoError(t, err)
	require.False(t, strings.Contains(out, "front"), out)
}

// TestNetworkKernelVXLANInterop: each network still talks to a plain kernel VXLAN device with
// its VNI (h2 runs no ebpfnet: vx43 with VNI 4096 plays front's 10.43.2.2, vx44 with 4097
// back's 10.44.2.2); and the kernel host's front device sending to a back container (VNI
// 4096, inner destination in back) is dropped by h1 as drop_cross_network.
func TestNetworkKernelVXLANInterop(t *testing.T) {
	t.Parallel()
	c := buildCluster(t, clusterSpec{hosts: 2, bare: true})
	bed, ctx := c.Bed, t.Context()
	h1, h2 := c.Hosts[0], c.Hosts[1]
	require.NoError(t, c.StartAgent(h1))
	vtep := func(ip netip.Addr) string {
		b := ip.As4()
		return fmt.Sprintf("0e:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
	}
	kernel := map[string]netip.Addr{}
	var local []*testbed.Container
	for _, n := range networkDefs {
		third := netip.MustParsePrefix(n.subnet).Addr().As4()[1]
		_, err := c.CLI(h1, "network", "create", n.name, "--subnet", n.subnet, "--vni", n.vni)
		require.NoError(t, err)
		_, err = c.CLI(h1, "peer", "add", fmt.Sprintf("10.%d.2.0/24", third), "--host", h2.UnderlayIP.String(), "--plain-vxlan")
		require.NoError(t, err)
		ct := addNetworkContainer(t, c, h1, fmt.Sprintf("%c1", n.name[0]), n.name, netip.AddrFrom4([4]byte{10, third, 1, 2}))
		local = append(local, ct)
		kernel[n.name] = netip.AddrFrom4([4]byte{10, third, 2, 2})
		dev := fmt.Sprintf("vx%d", third)
		for _, cmd := range [][]string{
			{"ip", "link", "add", dev, "type", "vxlan", "id", n.vni, "dstport", "4789", "local", h2.UnderlayIP.String(), "dev", "ul0", "nolearning"},
			{"ip", "link", "set", dev, "address", vtep(h2.UnderlayIP), "mtu", "1450", "up"},
			{"ip", "addr", "add", kernel[n.name].String() + "/24", "dev", dev},
			{"ip", "route", "add", fmt.Sprintf("10.%d.1.0/24", third), "dev", dev},
			{"ip", "neigh", "add", ct.IP.String(), "lladdr", vtep(h1.UnderlayIP), "dev", dev, "nud", "permanent"},
			{"bridge", "fdb", "add", vtep(h1.UnderlayIP), "dev", dev, "dst", h1.UnderlayIP.String(), "self", "permanent"},
		} {
			_, err := bed.Run(ctx, h2.Name, cmd...)
			require.NoError(t, err)
		}
	}
	for i, n := range networkDefs {
		ct := local[i]
		ping, err := bed.Ping(ctx, ct.Name, kernel[n.name], 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s: ebpfnet container -> kernel VXLAN VNI %s", n.name, n.vni)
		ping, err = bed.Ping(ctx, h2.Name, ct.IP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s: kernel VXLAN VNI %s -> ebpfnet container", n.name, n.vni)
		tr, err := bed.TCPTransfer(ctx, ct.Name, h2.Name, kernel[n.name], 5201+i, time.Second)
		require.NoError(t, err)
		require.Positive(t, tr.Bytes, n.name)
	}

	// The kernel host routes a back address into front's device: VNI 4096 with an inner
	// destination in back.
	b1 := local[1]
	for _, cmd := range [][]string{
		{"ip", "route", "add", b1.IP.String() + "/32", "dev", "vx43", "src", kernel["front"].String()},
		{"ip", "neigh", "add", b1.IP.String(), "lladdr", vtep(h1.UnderlayIP), "dev", "vx43", "nud", "permanent"},
	} {
		_, err := bed.Run(ctx, h2.Name, cmd...)
		require.NoError(t, err)
	}
	before := counter(t, c, h1, "drop_cross_network")
	ping, err := bed.Ping(ctx, h2.Name, b1.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, ping.Received, "front's VNI carried a packet into back")
	require.GreaterOrEqual(t, counter(t, c, h1, "drop_cross_network")-before, uint64(3))
}

// TestNetworksEtcd: with the etcd store a network is cluster-wide (created on one node, listed
// and refused again on the others) and its endpoints on different nodes, each in its node's
// slice of the subnet, reach each other, while the default network's do not reach them.
func TestNetworksEtcd(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	ec.meshed(t)
	h1, h2, h3 := ec.Hosts[0], ec.Hosts[1], ec.Hosts[2]
	_, err := ec.CLI(h1, "network", "create", "front", "--subnet", "10.43.0.0/16", "--vni", "4096")
	require.NoError(t, err)
	out, err := ec.CLI(h3, "network", "list")
	require.NoError(t, err)
	require.Contains(t, out, "10.43.0.0/16")
	out, err = ec.CLI(h3, "network", "create", "other", "--subnet", "10.50.0.0/16", "--vni", "4096")
	require.Error(t, err)
	require.Contains(t, out, "VNI 4096 is in use by network front")

	f1 := addNetworkContainer(t, ec.Cluster, h1, "f1", "front", netip.MustParseAddr("10.43.0.10"))
	f2 := addNetworkContainer(t, ec.Cluster, h2, "f2", "front", netip.MustParseAddr("10.43.1.20")) // h2's slice: the next /24
	spare, err := ec.Bed.Netns("spare")
	require.NoError(t, err)
	out, err = ec.CLI(h3, "endpoint", "add", "f3", "--netns", spare, "--ip", "10.43.0.10", "--network", "front")
	require.Error(t, err)
	require.Contains(t, out, "IP 10.43.0.10 is outside this node's slice 10.43.2.0/24 of network front", "another node's slice is refused")
	d2, err := ec.AddContainer(h2, "d2", h2.PodCIDR.Addr().Next().Next())
	require.NoError(t, err)

	ctx := t.Context()
	require.Eventually(t, func() bool {
		ping, err := ec.Bed.Ping(ctx, f1.Name, f2.IP, 1, 0)
		return err == nil && ping.Received == 1
	}, 10*time.Second, 200*time.Millisecond, "f1 reaches f2 on another node")
	for _, p := range [][2]*testbed.Container{{f2, f1}, {f1, f2}} {
		ping, err := ec.Bed.Ping(ctx, p[0].Name, p[1].IP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s -> %s", p[0].Name, p[1].Name)
	}
	tr, err := ec.Bed.TCPTransfer(ctx, f1.Name, f2.Name, f2.IP, 5201, time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes)
	for _, p := range [][2]*testbed.Container{{d2, f1}, {f1, d2}} {
		ping, err := ec.Bed.Ping(ctx, p[0].Name, p[1].IP, 2, 200*time.Millisecond)
		require.NoError(t, err)
		require.Zero(t, ping.Received, "%s -> %s across networks", p[0].Name, p[1].Name)
	}
}
