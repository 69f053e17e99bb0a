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

// addNetworkContainer creates netns name and attaches it to h on network net with ip.
func addNetworkContainer(t *testing.T, c *testbed.Cluster, h *testbed.Host, name, net string, ip netip.Addr) *testbed.Container {
	t.Helper()
	path, err := c.Bed.Netns(name)
	require.NoError(t, err)
	_, err = c.CLI(h, "endpoint", "add", name, "--netns", path, "--ip", ip.String(), "--network", net)
	require.NoError(t, err)
	ct := &testbed.Container{Name: name, Host: h, IP: ip}
	c.Containers = append(c.Containers, ct)
	return ct
}

// reachability probes every ordered pair of cts with one ping, one TCP connect and one UDP
// datagram, all pairs at once, and returns "from->to proto" for each probe that got through.
func reachability(t *testing.T, c *testbed.Cluster, cts []*testbed.Container) map[string]bool {
	const port = 7070
	got := map[string]bool{}
	var mu sync.Mutex
	mark := func(k string) { mu.Lock(); got[k] = true; mu.Unlock() }
	for _, to := range cts {
		l, err := c.Bed.ListenTCP(to.Name, netip.AddrPortFrom(to.IP, port))
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
		u, err := c.Bed.ListenUDP(to.Name, netip.AddrPortFrom(to.IP, port))
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
	for _, from := range cts {
		for _, to := range cts {
			if from == to {
				continue
			}
			pair := from.Name + "->" + to.Name
			wg.Go(func() {
				ping, err := c.Bed.Ping(context.Background(), from.Name, to.IP, 1, 0)
				if err == nil && ping.Received == 1 {
					mark(pair + " icmp")
				}
				if conn, err := c.Bed.DialTCP(from.Name, netip.AddrPortFrom(to.IP, port), 2*time.Second); err == nil {
					conn.Close()
					mark(pair + " tcp")
				}
				if u, err := c.Bed.DialUDP(from.Name, netip.AddrPortFrom(from.IP, 0), netip.AddrPortFrom(to.IP, port)); err == nil {
					_, _ = u.Write([]byte(pair + " udp"))
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

// TestNetworkIsolationMatrix: three networks on two hosts; ping, TCP and UDP between every
// ordered pair of the six containers get through exactly within a network (same host and
// cross host) and never across, where both hosts count drop_cross_network.
func TestNetworkIsolationMatrix(t *testing.T) {
	t.Parallel()
	c, byNet := networkCluster(t)
	netOf := map[string]string{}
	var all []*testbed.Container
	for net, cts := range byNet {
		for _, ct := range cts {
			netOf[ct.Name] = net
			all = append(all, ct)
		}
	}
	crossBefore := [2]uint64{counter(t, c, c.Hosts[0], "drop_cross_network"), counter(t, c, c.Hosts[1], "drop_cross_network")}
	got := reachability(t, c, all)
	var want, table []string
	across := 0
	for _, from := range all {
		for _, to := range all {
			if from == to {
				continue
			}
			for _, proto := range []string{"icmp", "tcp", "udp"} {
				k := from.Name + "->" + to.Name + " " + proto
				if netOf[from.Name] == netOf[to.Name] {
					want = append(want, k)
				}
				if got[k] {
					table = append(table, k)
				}
				if got[k] && netOf[from.Name] != netOf[to.Name] {
					across++
				}
			}
		}
	}
	t.Logf("isolation matrix: %d of %d probes within networks got through, %d of %d across",
		len(table)-across, len(want), across, len(all)*(len(all)-1)*3-len(want))
	require.ElementsMatch(t, want, table, "reachable exactly within each network")
	for i, h := range c.Hosts {
		require.Greater(t, counter(t, c, h, "drop_cross_network"), crossBefore[i], "%s counts drop_cross_network", h.Name)
	}
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
		{"endpoint on its network's gateway", []string{"endpoint", "add", "x", "--netns", spare, "--ip", "10.43.0.1", "--network", "front"}, "IP 10.43.0.1 is reserved in 10.43.0.0/16"},
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
