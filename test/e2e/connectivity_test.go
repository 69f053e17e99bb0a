package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAllPairs: ping and a TCP transfer between every ordered pair of the 4 containers on 2
// hosts (6 same-host and cross-host pairs each way = 12), through our programs only.
func TestAllPairs(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	ctx := context.Background()
	for _, from := range c.Containers {
		for _, to := range c.Containers {
			if from == to {
				continue
			}
			ping, err := c.Bed.Ping(ctx, from.Name, to.IP, 3, 200*time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, 3, ping.Received, "ping %s -> %s", from.Name, to.Name)
			tr, err := c.Bed.TCPTransfer(ctx, from.Name, to.Name, to.IP, 5201, time.Second)
			require.NoError(t, err, "tcp %s -> %s", from.Name, to.Name)
			require.Positive(t, tr.Bytes, "tcp %s -> %s moved no data", from.Name, to.Name)
			t.Logf("%s(%s) -> %s(%s): ping 3/3, TCP %.2f Gbit/s", from.Name, from.Host.Name, to.Name, to.Host.Name, tr.Gbps)
		}
	}
	for _, h := range c.Hosts {
		require.Positive(t, counter(t, c, h, "forward_local"), h.Name)
		require.Positive(t, counter(t, c, h, "forward_encap"), h.Name)
		require.Positive(t, counter(t, c, h, "forward_decap"), h.Name)
		require.Positive(t, counter(t, c, h, "arp_reply"), h.Name)
	}
}

// TestMapsDumpWithFieldNames: operators read the pinned maps with bpftool, which prints
// field names from BTF instead of hex, and the names of enum-typed values (ct kind).
func TestMapsDumpWithFieldNames(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 1)
	h1 := c.Hosts[0]
	_, err := c.CLI(h1, "publish", "add", "c1", "8080:5201/tcp")
	require.NoError(t, err)
	c1 := c.Containers[0]
	_, err = c.Bed.TCPTransferVia(context.Background(), "h2", c1.Name, netip.AddrPortFrom(c1.IP, 5201),
		netip.AddrPortFrom(h1.UnderlayIP, 8080), time.Second) // leaves a dnat-reply ct entry
	require.NoError(t, err)
	for name, fields := range map[string][]string{
		"endpoints":   {`"ip":`, `"ifindex":`, `"identity":`, `"mac":`, `"flags":`},
		"ipcache":     {`"prefixlen":`, `"tunnel_endpoint":`, `"identity":`},
		"node_config": {`"underlay_ip":`, `"vni":1042`, `"router_mac":`, `"cluster_mask":`},
		"metrics":     {`"packets":`, `"bytes":`},
		"published":   {`"host_ip":`, `"port":`, `"proto":6`},
		"ct":          {`"saddr":`, `"dir":"CT_DNAT_REPLY"`, `"last_seen":`, `"orig_addr":`},
	} {
		dump := dumpMap(t, h1, name)
		for _, f := range fields {
			require.Contains(t, dump, f, "bpftool dump of %s", name)
		}
	}
}

// TestLegacyTCAttach: the clsact fallback for kernels without tcx forwards the same traffic.
func TestLegacyTCAttach(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2, "--legacy-tc")
	ctx := context.Background()
	for _, pair := range [][2]int{{0, 1}, {0, 2}, {3, 1}} {
		from, to := c.Containers[pair[0]], c.Containers[pair[1]]
		ping, err := c.Bed.Ping(ctx, from.Name, to.IP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, ping.Received, "%s -> %s", from.Name, to.Name)
	}
	out, err := c.Bed.Run(ctx, c.Hosts[0].Name, "tc", "filter", "show", "dev", "ul0", "ingress")
	require.NoError(t, err)
	require.Contains(t, out, "ebpfnet", "tc filter attached")
}
