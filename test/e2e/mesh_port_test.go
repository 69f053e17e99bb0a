package e2e

import (
	"bufio"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServiceMeshSamePort (issue 15): one client, ONE local address and port, connects to the
// mesh port of several entry hosts, all balanced to the same single backend: a client outside
// the cluster through each of the 3 hosts, and a host through its own address and another
// host's (the CI failure: `dial tcp 172.31.0.1:8080 from "h3": i/o timeout`). Without the
// entry hosts' source-port slices the backend sees these connections as one 4-tuple: the later
// SYN meets the established socket (a challenge ACK, the dial times out) or takes the older
// connection's replies. With them, every connection establishes and answers twice, the
// backend seeing the client's own address.
func TestServiceMeshSamePort(t *testing.T) {
	t.Parallel()
	ec := newMeshPortCluster(t)
	c := ec.Cluster
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	solo, err := ec.AddContainer(h2, "solo", podIP(h2, 2), "app=solo")
	require.NoError(t, err)
	serviceBackend(t, c, solo)
	require.NoError(t, c.AddOutside("out", outsideIP))
	_, err = c.CLI(h1, "service", "add", "solo", "--port", "80/tcp", "--selector", "app=solo", "--publish", "8080")
	require.NoError(t, err)
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "solo", 1)
	}

	type dial struct {
		ns    string
		laddr netip.AddrPort
		to    netip.AddrPort
	}
	var dials []dial
	for _, h := range c.Hosts { // one client port through every entry host
		dials = append(dials, dial{"out", netip.AddrPortFrom(outsideIP, 40123), netip.AddrPortFrom(h.UnderlayIP, 8080)})
	}
	for _, to := range []netip.Addr{h3.UnderlayIP, h1.UnderlayIP} { // a host: its own address, another's
		dials = append(dials, dial{h3.Name, netip.AddrPortFrom(h3.UnderlayIP, 40124), netip.AddrPortFrom(to, 8080)})
	}
	var open []*svcConn
	for _, d := range dials {
		conn, err := c.Bed.DialTCPFrom(d.ns, d.laddr, d.to, 5*time.Second)
		require.NoError(t, err, "from %s %s", d.ns, d.laddr)
		t.Cleanup(func() { conn.Close() })
		require.Equal(t, d.laddr.String(), conn.LocalAddr().String(), "the same local port")
		open = append(open, &svcConn{conn: conn, r: bufio.NewReader(conn)})
	}
	for round := range 2 {
		for i, s := range open {
			name, addr, err := s.ask()
			require.NoError(t, err, "round %d: connection %d %s -> %s", round, i, dials[i].laddr, dials[i].to)
			require.Equal(t, "solo", name)
			require.True(t, strings.HasPrefix(addr, dials[i].laddr.Addr().String()+":"), "backend sees %s", addr)
		}
	}
	t.Logf("%d connections from 2 shared client ports to 1 backend through %s: all answered twice",
		len(open), fmt.Sprint([]string{h1.Name, h2.Name, h3.Name}))
	require.Positive(t, counter(t, c, h2, "forward_service"))
}
