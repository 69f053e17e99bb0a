package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// bigTCPRun is what one cluster (BIG TCP on or off) showed.
type bigTCPRun struct {
	same, cross testbed.Transfer
	// Mean bytes per packet the senders' eth0 sent and the receivers' eth0 got (GSO
	// packets count once): above 64 KiB only when BIG TCP packets crossed whole.
	sameTx, sameRx, crossTx, crossRx float64
}

// TestBigTCP: with BIG TCP (the default) the agent raises gso/gro_ipv4_max_size of ul0 and
// of both ends of every container veth to 192 KiB, read back with netlink; containers then
// send TCP GSO packets above 64 KiB, which cross our programs whole: same host (redirect
// into the peer) and cross host (VXLAN encapsulation of the GSO packet, outer total length 0,
// decapsulation on the other host): the receiving eth0 gets packets of more than 64 KiB on
// average. With --big-tcp=false everything stays at 64 KiB. BIG TCP on retransmits no more
// per Gbit moved than off (with one per Gbit of slack).
func TestBigTCP(t *testing.T) {
	t.Parallel()
	if suiteEncrypted() {
		t.Skip("the userspace WireGuard helper carries no GSO packets; BIG TCP is measured in clear")
	}
	on := bigTCPCluster(t, nil, endpoint.BigTCPIPv4MaxSize)
	off := bigTCPCluster(t, []string{"--big-tcp=false"}, endpoint.LegacyGSOMaxSize)
	t.Logf("same host:  on %.2f Gbit/s, %d retransmits, %.0f/%.0f B per packet tx/rx; off %.2f Gbit/s, %d retransmits, %.0f/%.0f",
		on.same.Gbps, on.same.Retransmits, on.sameTx, on.sameRx, off.same.Gbps, off.same.Retransmits, off.sameTx, off.sameRx)
	t.Logf("cross host: on %.2f Gbit/s, %d retransmits, %.0f/%.0f B per packet tx/rx; off %.2f Gbit/s, %d retransmits, %.0f/%.0f",
		on.cross.Gbps, on.cross.Retransmits, on.crossTx, on.crossRx, off.cross.Gbps, off.cross.Retransmits, off.crossTx, off.crossRx)

	const legacy = endpoint.LegacyGSOMaxSize
	require.Greater(t, on.sameTx, float64(legacy), "same host: the sender built BIG TCP packets")
	require.Greater(t, on.sameRx, float64(legacy), "same host: they arrived whole")
	require.Greater(t, on.crossTx, float64(legacy), "cross host: the sender built BIG TCP packets")
	require.Greater(t, on.crossRx, float64(legacy), "cross host: encapsulated and decapsulated whole")
	for _, v := range []float64{off.sameTx, off.sameRx, off.crossTx, off.crossRx} {
		require.LessOrEqual(t, v, float64(legacy), "BIG TCP off: no packet above 64 KiB")
	}
	// Per Gbit moved (both runs last as long; BIG TCP moves 2-3x the bytes), with one
	// retransmission per Gbit of slack: absolute counts are noise on a loaded machine.
	perGbit := func(r float64, gbps float64) float64 { return r / max(gbps, 0.01) }
	require.LessOrEqual(t, perGbit(float64(on.same.Retransmits), on.same.Gbps), perGbit(float64(off.same.Retransmits), off.same.Gbps)+1, "same host retransmissions per Gbit")
	require.LessOrEqual(t, perGbit(float64(on.cross.Retransmits), on.cross.Gbps), perGbit(float64(off.cross.Retransmits), off.cross.Gbps)+1, "cross host retransmissions per Gbit")
}

// TestBigTCPUnderlayUntouched: with --big-tcp-underlay=false the agent leaves ul0 at 64 KiB,
// and since BIG TCP packets to other hosts would then be segmented in software on ul0, the
// container veths keep 64 KiB too, and the agent says why.
func TestBigTCPUnderlayUntouched(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 1, "--big-tcp-underlay=false")
	requireBigTCPSizes(t, c, endpoint.LegacyGSOMaxSize)
	require.Contains(t, c.AgentLogs(), "BIG TCP for IPv4 off: the underlay carries GSO packets of at most 64 KiB")
}

// requireBigTCPSizes checks gso and gro_ipv4_max_size of both ends of every container veth
// and of every host's ul0.
func requireBigTCPSizes(t *testing.T, c *testbed.Cluster, want uint32) {
	t.Helper()
	for _, ct := range c.Containers {
		requireIPv4GSO(t, c.Bed, ct.Name, "eth0", want)
		requireIPv4GSO(t, c.Bed, ct.Host.Name, endpoint.HostIfName(ct.Name), want)
	}
	for _, h := range c.Hosts {
		requireIPv4GSO(t, c.Bed, h.Name, "ul0", want)
	}
}

// bigTCPCluster builds 2 hosts x 2 containers with agentArgs, checks that ul0 and every
// container veth end have gso and gro_ipv4_max_size want, and measures c1 -> c2 (same host)
// and c1 -> c3 (cross host) for 3 s each.
func bigTCPCluster(t *testing.T, agentArgs []string, want uint32) bigTCPRun {
	t.Helper()
	c := newCluster(t, 2, 2, agentArgs...)
	requireBigTCPSizes(t, c, want)
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]
	var r bigTCPRun
	r.same, r.sameTx, r.sameRx = measuredTransfer(t, c, c1, c2)
	r.cross, r.crossTx, r.crossRx = measuredTransfer(t, c, c1, c3)
	return r
}

// measuredTransfer runs a 3 s TCP transfer from -> to and returns it with the mean bytes per
// packet that from's eth0 sent and to's eth0 received meanwhile.
func measuredTransfer(t *testing.T, c *testbed.Cluster, from, to *testbed.Container) (testbed.Transfer, float64, float64) {
	t.Helper()
	tx0, rx0 := linkStats(t, c.Bed, from.Name), linkStats(t, c.Bed, to.Name)
	tr, err := c.Bed.TCPTransfer(context.Background(), from.Name, to.Name, to.IP, 5201, 3*time.Second)
	require.NoError(t, err, "%s -> %s", from.Name, to.Name)
	require.Positive(t, tr.Bytes, "%s -> %s moved no data", from.Name, to.Name)
	tx1, rx1 := linkStats(t, c.Bed, from.Name), linkStats(t, c.Bed, to.Name)
	perPacket := func(bytes, packets uint64) float64 {
		require.Positive(t, packets)
		return float64(bytes) / float64(packets)
	}
	return tr, perPacket(tx1.TxBytes-tx0.TxBytes, tx1.TxPackets-tx0.TxPackets),
		perPacket(rx1.RxBytes-rx0.RxBytes, rx1.RxPackets-rx0.RxPackets)
}

// linkStats reads the counters of eth0 in netns ns.
func linkStats(t *testing.T, bed *testbed.Bed, ns string) netlink.LinkStatistics {
	t.Helper()
	var st netlink.LinkStatistics
	require.NoError(t, bed.InNetns(ns, func() error {
		l, err := netlink.LinkByName("eth0")
		if err == nil {
			st = *l.Attrs().Statistics
		}
		return err
	}))
	return st
}

// requireIPv4GSO checks gso_ipv4_max_size and gro_ipv4_max_size of dev in netns ns.
func requireIPv4GSO(t *testing.T, bed *testbed.Bed, ns, dev string, want uint32) {
	t.Helper()
	var gso, gro uint32
	require.NoError(t, bed.InNetns(ns, func() error {
		l, err := netlink.LinkByName(dev)
		if err == nil {
			gso, gro = l.Attrs().GSOIPv4MaxSize, l.Attrs().GROIPv4MaxSize
		}
		return err
	}))
	require.Equal(t, want, gso, "%s/%s gso_ipv4_max_size", ns, dev)
	require.Equal(t, want, gro, "%s/%s gro_ipv4_max_size", ns, dev)
}
