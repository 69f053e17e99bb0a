package e2e

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// nativeNet is the native network of TestNativeNetwork: host i owns 10.45.i.0/24.
const nativeNet, nativeSubnet = "routed", "10.45.0.0/16"

// refusedUnchanged runs the CLI args on h, which must fail with a message containing want and
// leave the endpoints, ipcache, peers and network maps byte-identical.
func refusedUnchanged(t *testing.T, c *testbed.Cluster, h *testbed.Host, want string, args ...string) {
	t.Helper()
	names := []string{"endpoints", "ipcache", "peers", "networks", "network_subnets", "network_vnis"}
	before := map[string]string{}
	for _, m := range names {
		before[m] = dumpMap(t, h, m)
	}
	out, err := c.CLI(h, args...)
	require.Error(t, err, "must fail: %s", out)
	require.Contains(t, out, want)
	for _, m := range names {
		require.Equal(t, before[m], dumpMap(t, h, m), "%s map changed", m)
	}
}

// TestNativeNetwork: a --mode native network beside the default, front and back networks on
// two hosts of one L2 segment. An off-link peer host is refused (at network create while it
// is a peer, at peer add while the native network exists), nothing changed. Within the
// native network ping, TCP and UDP cross hosts routed, not encapsulated: forward_native
// moves, forward_encap does not, and the underlay carries the containers' own packets and no
// VXLAN. The isolation matrix of the four networks holds (nothing across); under default deny
// none of its probes gets through and the receiver drops native packets by policy.
func TestNativeNetwork(t *testing.T) {
	t.Parallel()
	if suiteEncrypted() {
		t.Skip("a node with --encryption wireguard refuses --mode native (it would cross the underlay in clear); TestNativeNetworkOnLink (agent) checks the refusal")
	}
	c, byNet := networkCluster(t)
	ctx := t.Context()
	h1, h2 := c.Hosts[0], c.Hosts[1]

	// An off-link peer host: 192.168.99.0/24 is routed via h2 inside h1's netns.
	_, err := c.Bed.Run(ctx, h1.Name, "ip", "route", "add", "192.168.99.0/24", "via", h2.UnderlayIP.String(), "dev", "ul0")
	require.NoError(t, err)
	_, err = c.CLI(h1, "peer", "add", "10.42.9.0/24", "--host", "192.168.99.5") // VXLAN: routed peers are fine
	require.NoError(t, err)
	refusedUnchanged(t, c, h1, "network routed: --mode native needs every peer host on the underlay's L2 segment: peer host 192.168.99.5 is not on-link: routed via gateway "+h2.UnderlayIP.String(),
		"network", "create", nativeNet, "--subnet", nativeSubnet, "--mode", "native")
	_, err = c.CLI(h1, "peer", "del", "10.42.9.0/24")
	require.NoError(t, err)

	var routed []*testbed.Container
	for i, h := range c.Hosts {
		_, err := c.CLI(h, "network", "create", nativeNet, "--subnet", nativeSubnet, "--vni", "4098", "--mode", "native")
		require.NoError(t, err)
		_, err = c.CLI(h, "peer", "add", fmt.Sprintf("10.45.%d.0/24", 2-i), "--host", c.Hosts[1-i].UnderlayIP.String())
		require.NoError(t, err)
		routed = append(routed, addNetworkContainer(t, c, h, fmt.Sprintf("r%d", i+1), nativeNet, netip.AddrFrom4([4]byte{10, 45, byte(i + 1), 2})))
	}
	refusedUnchanged(t, c, h1, "peer host 192.168.99.5 is not on-link: routed via gateway "+h2.UnderlayIP.String()+"; native network routed routes to every peer host without encapsulation",
		"peer", "add", "10.42.9.0/24", "--host", "192.168.99.5")
	require.Empty(t, status(t, c, h1).OffLinkPeers)

	// Native traffic only: routed, never encapsulated.
	r1, r2 := routed[0], routed[1]
	native := [2]uint64{counter(t, c, h1, "forward_native"), counter(t, c, h2, "forward_native")}
	encap := [2]uint64{counter(t, c, h1, "forward_encap"), counter(t, c, h2, "forward_encap")}
	stop := capture(t, c, h1.Name, "ul0")
	ping, err := c.Bed.Ping(ctx, r1.Name, r2.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, ping.Received, "ping r1 -> r2")
	tr, err := c.Bed.TCPTransfer(ctx, r1.Name, r2.Name, r2.IP, 5201, 2*time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes, "TCP r1 -> r2")
	udp, err := c.Bed.UDPProbe(ctx, r2.Name, r1.Name, r1.IP, 5202, time.Second, 10_000_000)
	require.NoError(t, err)
	require.Positive(t, udp.Received, "UDP r2 -> r1")
	pcap := stop()
	t.Logf("native r1 -> r2: ping %d/3, TCP %+v, UDP r2 -> r1 %+v", ping.Received, tr, udp)
	require.Empty(t, readPcap(t, c, pcap, "udp port 4789"), "no VXLAN on the underlay")
	plain := readPcap(t, c, pcap, "host "+r1.IP.String()+" and host "+r2.IP.String())
	require.NotEmpty(t, plain, "the containers' own packets on the underlay")
	for i, h := range c.Hosts {
		n, e := counter(t, c, h, "forward_native")-native[i], counter(t, c, h, "forward_encap")-encap[i]
		t.Logf("%s: forward_native +%d, forward_encap +%d", h.Name, n, e)
		require.Zero(t, e, "%s encapsulated native traffic", h.Name)
		require.Greater(t, n, uint64(6), "%s forward_native", h.Name)
	}

	// The isolation matrix of the four networks: reachable exactly within each.
	byNet[nativeNet] = routed
	var ifaces []netAddr
	for net, cts := range byNet {
		for _, ct := range cts {
			ifaces = append(ifaces, netAddr{ct.Name, net, ct.IP})
		}
	}
	crossBefore := counter(t, c, h1, "drop_cross_network") + counter(t, c, h2, "drop_cross_network")
	got := reachability(t, c, ifaces, 7070)
	var want, table []string
	across := 0
	for _, from := range ifaces {
		for _, to := range ifaces {
			if from.ns == to.ns {
				continue
			}
			for _, proto := range []string{"icmp", "tcp", "udp"} {
				k := from.ns + "->" + to.ip.String() + " " + proto
				if from.net == to.net {
					want = append(want, k)
				}
				if got[k] {
					table = append(table, k)
					if from.net != to.net {
						across++
					}
				}
			}
		}
	}
	t.Logf("isolation matrix with a native network: %d of %d probes within networks got through, %d of %d across",
		len(table)-across, len(want), across, len(ifaces)*(len(ifaces)-1)*3-len(want))
	require.ElementsMatch(t, want, table, "reachable exactly within each network")
	require.Greater(t, counter(t, c, h1, "drop_cross_network")+counter(t, c, h2, "drop_cross_network"), crossBefore)

	// Default deny: nothing gets through, and the receiver drops the native network's packets
	// by policy (no GBP: the ipcache identity of the source).
	for _, h := range c.Hosts {
		_, err := c.CLI(h, "policy", "default", "deny")
		require.NoError(t, err)
	}
	require.Empty(t, reachability(t, c, ifaces, 7071), "default deny")
	policyBefore := counter(t, c, h2, "drop_policy")
	ping, err = c.Bed.Ping(ctx, r1.Name, r2.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, ping.Received, "default deny")
	require.GreaterOrEqual(t, counter(t, c, h2, "drop_policy")-policyBefore, uint64(3), "h2 drops r1's pings by policy")
}

// TestNativeNetworkEtcd: with the etcd store a native network is cluster-wide and each
// node's slice of it is routed via that node (no peer add): containers on two nodes ping and stream
// TCP routed, not encapsulated. A node whose route to another node goes through a gateway
// cannot create a native network, and while one exists its status names that node.
func TestNativeNetworkEtcd(t *testing.T) {
	t.Parallel()
	if suiteEncrypted() {
		t.Skip("a node with --encryption wireguard refuses --mode native (it would cross the underlay in clear); TestNativeNetworkOnLink (agent) checks the refusal")
	}
	ec := newEtcdCluster(t, false, true)
	ec.meshed(t)
	ctx := t.Context()
	h1, h2, h3 := ec.Hosts[0], ec.Hosts[1], ec.Hosts[2]
	offLink := "peer host " + h2.UnderlayIP.String() + " is not on-link: routed via gateway " + h1.UnderlayIP.String()
	route := []string{"ip", "route", "add", h2.UnderlayIP.String() + "/32", "via", h1.UnderlayIP.String(), "dev", "ul0"}
	_, err := ec.Bed.Run(ctx, h3.Name, route...)
	require.NoError(t, err)
	refusedUnchanged(t, ec.Cluster, h3, "network routed: --mode native needs every peer host on the underlay's L2 segment: "+offLink,
		"network", "create", nativeNet, "--subnet", nativeSubnet, "--mode", "native")

	_, err = ec.CLI(h1, "network", "create", nativeNet, "--subnet", nativeSubnet, "--mode", "native")
	require.NoError(t, err)
	require.Equal(t, []string{offLink}, status(t, ec.Cluster, h3).OffLinkPeers, "h3 warns")
	route[2] = "del"
	_, err = ec.Bed.Run(ctx, h3.Name, route...)
	require.NoError(t, err)
	require.Empty(t, status(t, ec.Cluster, h3).OffLinkPeers)

	n1 := addNetworkContainer(t, ec.Cluster, h1, "n1", nativeNet, netip.MustParseAddr("10.45.0.10"))
	n2 := addNetworkContainer(t, ec.Cluster, h2, "n2", nativeNet, netip.MustParseAddr("10.45.1.20")) // h2's slice: the next /24
	require.Eventually(t, func() bool {
		ping, err := ec.Bed.Ping(ctx, n1.Name, n2.IP, 1, 0)
		return err == nil && ping.Received == 1
	}, 10*time.Second, 200*time.Millisecond, "n1 reaches n2 on another node")
	encap := counter(t, ec.Cluster, h1, "forward_encap") + counter(t, ec.Cluster, h2, "forward_encap")
	native := counter(t, ec.Cluster, h1, "forward_native") + counter(t, ec.Cluster, h2, "forward_native")
	ping, err := ec.Bed.Ping(ctx, n2.Name, n1.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, ping.Received, "n2 -> n1")
	tr, err := ec.Bed.TCPTransfer(ctx, n1.Name, n2.Name, n2.IP, 5201, time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes)
	require.Equal(t, encap, counter(t, ec.Cluster, h1, "forward_encap")+counter(t, ec.Cluster, h2, "forward_encap"), "nothing encapsulated")
	require.Greater(t, counter(t, ec.Cluster, h1, "forward_native")+counter(t, ec.Cluster, h2, "forward_native"), native+12)
}
