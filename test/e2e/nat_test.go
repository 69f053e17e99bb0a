package e2e

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

var outsideIP = netip.MustParseAddr("172.31.0.100")

// newNATCluster is 2 hosts on an underlay switch with 2 containers each (c1, c2 on h1; c3, c4
// on h2) and a machine "out" outside the cluster at 172.31.0.100 on the same switch.
func newNATCluster(t *testing.T) *testbed.Cluster {
	t.Helper()
	return buildCluster(t, clusterSpec{hosts: 2, perHost: 2, outside: true})
}

// TestHostNAT: container traffic to a machine outside the cluster leaves with its host's
// underlay IP (TCP, UDP, ping), replies come back; without hostNat nothing gets out.
func TestHostNAT(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	ctx := context.Background()
	for _, ct := range []*testbed.Container{c.Containers[0], c.Containers[2]} {
		ping, err := c.Bed.Ping(ctx, ct.Name, outsideIP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s pings outside", ct.Name)
		tr, err := c.Bed.TCPTransfer(ctx, ct.Name, "out", outsideIP, 5201, time.Second)
		require.NoError(t, err)
		require.Positive(t, tr.Bytes)
		require.Equal(t, ct.Host.UnderlayIP, tr.ClientSeen, "TCP from %s masqueraded to its host's IP", ct.Name)
		udp, err := c.Bed.UDPProbe(ctx, ct.Name, "out", outsideIP, 5202, time.Second, 50_000_000)
		require.NoError(t, err)
		require.Positive(t, udp.Received)
		require.Equal(t, ct.Host.UnderlayIP, udp.ClientSeen, "UDP from %s masqueraded", ct.Name)
	}
	out, err := c.CLI(c.Hosts[0], "nat", "list")
	require.NoError(t, err)
	require.Contains(t, out, "snat-out")
	require.Contains(t, out, outsideIP.String())
	require.Positive(t, counter(t, c, c.Hosts[0], "forward_snat"))
	require.Positive(t, counter(t, c, c.Hosts[0], "forward_snat_reply"))

	// An endpoint without hostNat reaches nothing outside (its packets go to a host that does
	// not route them).
	noNAT, err := c.Bed.Netns("c5")
	require.NoError(t, err)
	_, err = c.CLI(c.Hosts[0], "endpoint", "add", "c5", "--netns", noNAT, "--ip", "10.42.1.5", "--host-nat=false")
	require.NoError(t, err)
	ping, err := c.Bed.Ping(ctx, "c5", outsideIP, 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, ping.Received)

	requireNoFirewallRules(t, c)
}

// requireNoFirewallRules: neither feature added an iptables or nftables rule in any host.
func requireNoFirewallRules(t *testing.T, c *testbed.Cluster) {
	t.Helper()
	for _, h := range c.Hosts {
		out, err := c.Bed.Run(context.Background(), h.Name, "iptables-save")
		require.NoError(t, err)
		for _, line := range strings.Split(out, "\n") {
			require.False(t, strings.HasPrefix(line, "-A "), "iptables rule in %s: %s", h.Name, line)
		}
		out, err = c.Bed.Run(context.Background(), h.Name, "nft", "list", "ruleset")
		require.NoError(t, err)
		require.NotContains(t, out, "rule", "nftables in %s: %s", h.Name, out)
		require.NotContains(t, out, "chain", "nftables in %s: %s", h.Name, out)
	}
}

// TestPublishedPorts: hostPort 8080 -> c2:5201 reached from outside (client IP preserved),
// from the other host, from the host itself, from a neighbour container and from c2 itself
// (hairpin); a 1,000-port range works at its edges; no firewall rule anywhere.
func TestPublishedPorts(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	ctx := context.Background()
	h1 := c.Hosts[0]
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]
	_, err := c.CLI(h1, "publish", "add", c2.Name, "8080:5201/tcp")
	require.NoError(t, err)
	bind := netip.AddrPortFrom(c2.IP, 5201)
	via := netip.AddrPortFrom(h1.UnderlayIP, 8080)

	for _, tc := range []struct {
		client string
		seen   netip.Addr
	}{
		{"out", outsideIP},                          // outside: source preserved
		{"h2", c.Hosts[1].UnderlayIP},               // another host
		{c3.Name, c.Hosts[1].UnderlayIP},            // a container of another host (masqueraded there)
		{"h1", h1.UnderlayIP},                       // the host itself, via its own IP
		{c1.Name, c1.IP},                            // neighbour container: hairpin, no SNAT needed
		{c2.Name, netip.MustParseAddr("10.42.1.1")}, // itself: hairpin through the gateway address
	} {
		tr, err := c.Bed.TCPTransferVia(ctx, tc.client, c2.Name, bind, via, time.Second)
		require.NoError(t, err, "client %s", tc.client)
		require.Positive(t, tr.Bytes, "client %s", tc.client)
		require.Equal(t, tc.seen, tr.ClientSeen, "source seen by the container for client %s", tc.client)
	}

	_, err = c.CLI(h1, "publish", "add", c1.Name, "20000-20999:30000-30999/tcp")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(mapEntries(t, h1, "published")), 1001)
	for _, port := range []uint16{20000, 20537, 20999} {
		tr, err := c.Bed.TCPTransferVia(ctx, "out", c1.Name, netip.AddrPortFrom(c1.IP, port+10000),
			netip.AddrPortFrom(h1.UnderlayIP, port), time.Second)
		require.NoError(t, err, "port %d of the range", port)
		require.Positive(t, tr.Bytes)
	}
	out, err := c.CLI(h1, "publish", "list")
	require.NoError(t, err)
	require.Contains(t, out, "20000-20999")
	require.Positive(t, counter(t, c, h1, "forward_dnat"))
	require.Positive(t, counter(t, c, h1, "forward_dnat_reply"))

	_, err = c.CLI(h1, "publish", "del", c2.Name, "8080/tcp")
	require.NoError(t, err)
	_, err = c.Bed.TCPTransferVia(ctx, "out", c2.Name, bind, via, time.Second)
	require.Error(t, err, "unpublished port must not reach the container")

	requireNoFirewallRules(t, c)
}

// TestPublishedUDPRemap: one UDP flow from outside to a published port; republishing the
// port to another container (--replace) moves the same flow to it at once.
func TestPublishedUDPRemap(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	h1 := c.Hosts[0]
	c1, c2 := c.Containers[0], c.Containers[1]
	_, err := c.CLI(h1, "publish", "add", c1.Name, "9999:7000/udp")
	require.NoError(t, err)

	var got [2]atomic.Int64
	for i, ct := range []*testbed.Container{c1, c2} {
		conn, err := c.Bed.ListenUDP(ct.Name, netip.AddrPortFrom(ct.IP, 7000))
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		go func() {
			buf := make([]byte, 64)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
				got[i].Add(1)
			}
		}()
	}
	sender, err := c.Bed.DialUDP("out", netip.AddrPortFrom(outsideIP, 40404), netip.AddrPortFrom(h1.UnderlayIP, 9999))
	require.NoError(t, err)
	defer sender.Close()
	send := func(n int) {
		for range n {
			_, err := sender.Write([]byte("flow"))
			require.NoError(t, err)
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}

	send(50)
	require.Equal(t, int64(50), got[0].Load(), "c1 gets the flow")
	require.Zero(t, got[1].Load())

	_, err = c.CLI(h1, "publish", "add", c2.Name, "9999:7000/udp", "--replace")
	require.NoError(t, err)
	before := got[0].Load()
	send(50)
	require.Equal(t, before, got[0].Load(), "the old container gets nothing more of the flow")
	require.Equal(t, int64(50), got[1].Load(), "the same flow now reaches the new container")

	_, err = c.CLI(h1, "publish", "add", c1.Name, "9999:7000/udp")
	require.ErrorContains(t, err, "already published by endpoint c2")
}

// TestPublishBadInput: malformed specs, unknown endpoints, foreign host IPs, conflicts and
// ports held by a host process are refused with a clear message, and the published map does
// not change.
func TestPublishBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	h1 := c.Hosts[0]
	_, err := c.CLI(h1, "publish", "add", "c1", "8080:80/tcp")
	require.NoError(t, err)
	// A host process listening on 7070 (as docker-proxy would find it).
	listener, err := c.Bed.ListenTCP(h1.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 7070))
	require.NoError(t, err)
	defer listener.Close()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"c1", "80"}, `invalid port mapping "80": want hostPort:containerPort`},
		{[]string{"c1", "0:80"}, `port "0": want 1-65535`},
		{[]string{"c1", "70000:80"}, `port "70000": want 1-65535`},
		{[]string{"c1", "9000-8000:80"}, "is reversed"},
		{[]string{"c1", "9000-9010:80-81"}, "host and container port ranges differ in length"},
		{[]string{"c1", "53:53/sctp"}, `protocol "sctp": want tcp or udp`},
		{[]string{"nope", "9000:80"}, "endpoint nope: not found"},
		{[]string{"c2", "8080:80/tcp"}, "port 8080:80/tcp is already published by endpoint c1 (8080:80/tcp)"},
		{[]string{"c2", "8000-8100:8000-8100"}, "is already published by endpoint c1"},
		{[]string{"c2", "7070:80"}, "port 7070/tcp is in use by a process on this host"},
		{[]string{"c2", "9000:80", "--host-ip", "192.0.2.77"}, "host IP 192.0.2.77 is not an address of this host"},
		{[]string{"c2", "9000:80", "--host-ip", "not-an-ip"}, `invalid host IP "not-an-ip"`},
	} {
		before := dumpMap(t, h1, "published")
		out, err := c.CLI(h1, append([]string{"publish", "add"}, tc.args...)...)
		require.Error(t, err, "publish add %v must fail: %s", tc.args, out)
		require.Contains(t, out, tc.want)
		require.Equal(t, before, dumpMap(t, h1, "published"), "published map changed by %v", tc.args)
	}
	out, err := c.CLI(h1, "publish", "del", "c1", "9999/tcp")
	require.Error(t, err)
	require.Contains(t, out, "endpoint c1 publishes no 9999:9999/tcp")
}

// TestPublish50000Ports: 50,000 published ports on one host (a single range), all in the map,
// and a connection to the last one of them works.
func TestPublish50000Ports(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	h1, c1 := c.Hosts[0], c.Containers[0]
	start := time.Now()
	_, err := c.CLI(h1, "publish", "add", c1.Name, "10000-59999:10000-59999/tcp")
	require.NoError(t, err)
	t.Logf("published 50,000 ports in %v", time.Since(start))
	require.Len(t, mapEntries(t, h1, "published"), 50000)
	for _, port := range []uint16{10000, 59999} {
		tr, err := c.Bed.TCPTransferVia(context.Background(), "out", c1.Name, netip.AddrPortFrom(c1.IP, port),
			netip.AddrPortFrom(h1.UnderlayIP, port), time.Second)
		require.NoError(t, err, "port %d", port)
		require.Equal(t, outsideIP, tr.ClientSeen)
	}
	_, err = c.CLI(h1, "publish", "del", c1.Name, "10000-59999/tcp")
	require.NoError(t, err)
	require.Empty(t, mapEntries(t, h1, "published"))
}
