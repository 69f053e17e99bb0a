package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNoTrafficForForeignIP: a container that configures an address it was not given receives
// nothing for it (same host and cross host), and cannot send from it either.
func TestNoTrafficForForeignIP(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	ctx := context.Background()
	h1 := c.Hosts[0]
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]
	stolen := netip.MustParseAddr("10.42.1.99")
	_, err := c.Bed.Run(ctx, c2.Name, "ip", "addr", "add", stolen.String()+"/16", "dev", "eth0")
	require.NoError(t, err)

	unknownBefore := counter(t, c, h1, "drop_unknown_endpoint")
	for _, from := range []string{c1.Name, c3.Name} {
		ping, err := c.Bed.Ping(ctx, from, stolen, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Zero(t, ping.Received, "%s reached an address nobody was given", from)
	}
	// c1's 3 echo requests die on h1 (local pod CIDR), c3's on h1 after decapsulation.
	require.GreaterOrEqual(t, counter(t, c, h1, "drop_unknown_endpoint")-unknownBefore, uint64(6))

	spoofBefore := counter(t, c, h1, "drop_spoofed_source")
	ping, err := c.Bed.Ping(ctx, c2.Name, c1.IP, 3, 200*time.Millisecond, "-I", stolen.String())
	require.NoError(t, err)
	require.Zero(t, ping.Received, "spoofed source got through")
	require.GreaterOrEqual(t, counter(t, c, h1, "drop_spoofed_source")-spoofBefore, uint64(3))

	// The owner of an address still works.
	ping, err = c.Bed.Ping(ctx, c1.Name, c2.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, ping.Received)
}

// TestEndpointDeleteStopsTraffic: after `endpoint del`, the container is unreachable from both
// hosts, its map entry and veth are gone, and the others still talk.
func TestEndpointDeleteStopsTraffic(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	ctx := context.Background()
	c1, c2, c3, c4 := c.Containers[0], c.Containers[1], c.Containers[2], c.Containers[3]
	ping, err := c.Bed.Ping(ctx, c1.Name, c4.IP, 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 2, ping.Received)

	_, err = c.CLI(c4.Host, "endpoint", "del", c4.Name)
	require.NoError(t, err)
	require.Len(t, mapEntries(t, c4.Host, "endpoints"), 1, "only c3 stays in h2's endpoints map")
	for _, from := range []string{c1.Name, c3.Name} {
		ping, err := c.Bed.Ping(ctx, from, c4.IP, 3, 200*time.Millisecond)
		require.NoError(t, err)
		require.Zero(t, ping.Received, "%s still reaches deleted %s", from, c4.Name)
	}
	out, err := c.Bed.Run(ctx, c4.Name, "ip", "-o", "link", "show")
	require.NoError(t, err)
	require.NotContains(t, out, "eth0", "veth left in the container")

	ping, err = c.Bed.Ping(ctx, c2.Name, c3.IP, 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 2, ping.Received, "other endpoints must keep working")
}
