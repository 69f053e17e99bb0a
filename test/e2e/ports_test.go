package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPublishedPortsEveryLocalAddress: a wildcard published port answers on every local address
// of the host, like Docker's and portmap's: 127.0.0.1 from the host itself (the user's first
// `curl localhost:8080`), a secondary underlay address from outside and from the host, also
// while a host process holds a reservation socket on the port as podman does (which used to
// take the loopback connection and leave the client hanging). `--host-ip 127.0.0.1` publishes
// on loopback only.
func TestPublishedPortsEveryLocalAddress(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	ctx := context.Background()
	h1 := c.Hosts[0]
	c2 := c.Containers[1]
	secondary := netip.MustParseAddr("172.31.0.201")
	loopback := netip.MustParseAddr("127.0.0.1")
	gateway := netip.MustParseAddr("10.42.1.1")
	_, err := c.Bed.Run(ctx, h1.Name, "ip", "addr", "add", secondary.String()+"/24", "dev", "ul0")
	require.NoError(t, err)
	_, err = c.CLI(h1, "publish", "add", c2.Name, "8080:5201/tcp")
	require.NoError(t, err)
	// podman keeps a socket bound on each published port for the container's life (a listener
	// that never accepts); anything that reaches it hangs.
	reservation, err := c.Bed.ListenTCP(h1.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 8080))
	require.NoError(t, err)
	defer reservation.Close()
	bind := netip.AddrPortFrom(c2.IP, 5201)

	for _, tc := range []struct {
		client string
		via    netip.Addr
		seen   netip.Addr
	}{
		{"h1", loopback, gateway},            // the host on loopback: masqueraded to the gateway
		{"h1", secondary, h1.UnderlayIP},     // the host via a secondary address (its local route has the primary as source)
		{"h1", h1.UnderlayIP, h1.UnderlayIP}, // the host via its underlay IP
		{"out", secondary, outsideIP},        // outside via the secondary address: client kept
	} {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		tr, err := c.Bed.TCPTransferVia(tctx, tc.client, c2.Name, bind, netip.AddrPortFrom(tc.via, 8080), time.Second)
		cancel()
		require.NoError(t, err, "client %s via %s", tc.client, tc.via)
		require.Positive(t, tr.Bytes, "client %s via %s", tc.client, tc.via)
		require.Equal(t, tc.seen, tr.ClientSeen, "source seen by the container, client %s via %s", tc.client, tc.via)
	}

	_, err = c.CLI(h1, "publish", "add", c2.Name, "8081:5202/tcp", "--host-ip", "127.0.0.1")
	require.NoError(t, err)
	tr, err := c.Bed.TCPTransferVia(ctx, "h1", c2.Name, netip.AddrPortFrom(c2.IP, 5202), netip.AddrPortFrom(loopback, 8081), time.Second)
	require.NoError(t, err, "--host-ip 127.0.0.1 from the host")
	require.Positive(t, tr.Bytes)
	_, err = c.Bed.TCPTransferVia(ctx, "out", c2.Name, netip.AddrPortFrom(c2.IP, 5202), netip.AddrPortFrom(h1.UnderlayIP, 8081), time.Second)
	require.Error(t, err, "a port published on 127.0.0.1 is not reachable on the underlay IP")

	requireNoFirewallRules(t, c)
}
