package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPublishedPortPolicy (issue 10 item 9): ingress policy applies to connections reaching a
// container through a published port when the source's identity is known: a local endpoint
// (hairpin) by its identity, another host's container (masqueraded by its host) as
// remote-node; a machine outside the cluster is not subject to policy. On main every one of
// them reached the denied container.
func TestPublishedPortPolicy(t *testing.T) {
	t.Parallel()
	c := buildCluster(t, clusterSpec{hosts: 2, outside: true})
	ctx := context.Background()
	h1, h2 := c.Hosts[0], c.Hosts[1]
	db, err := c.AddContainer(h1, "db", h1.PodCIDR.Addr().Next().Next(), "app=db")
	require.NoError(t, err)
	attacker, err := c.AddContainer(h1, "attacker", db.IP.Next(), "app=attacker")
	require.NoError(t, err)
	web, err := c.AddContainer(h2, "web", h2.PodCIDR.Addr().Next().Next(), "app=web")
	require.NoError(t, err)
	_, err = c.CLI(h1, "publish", "add", db.Name, "8080:5201/tcp")
	require.NoError(t, err)
	bind, via := netip.AddrPortFrom(db.IP, 5201), netip.AddrPortFrom(h1.UnderlayIP, 8080)
	reaches := func(client string) bool {
		tr, err := c.Bed.TCPTransferVia(ctx, client, db.Name, bind, via, 500*time.Millisecond)
		return err == nil && tr.Bytes > 0
	}
	// The local store: the policy is h1's own, and h1 decides (the destination's host).
	for _, args := range [][]string{{"deny", "--from", "app=attacker", "--to", "app=db"},
		{"deny", "--from", "io.ebpfnet.reserved=remote-node", "--to", "app=db", "--port", "5201/tcp"}} {
		out, err := c.CLI(h1, append([]string{"policy"}, args...)...)
		require.NoError(t, err, out)
	}
	before := counter(t, c, h1, "drop_policy")
	require.False(t, reaches(attacker.Name), "denied container through the published port (hairpin)")
	require.False(t, reaches(web.Name), "another host's container, masqueraded: remote-node, denied")
	require.False(t, reaches(h2.Name), "another host itself: remote-node, denied")
	require.True(t, reaches("out"), "outside the cluster: no identity, not subject to policy")
	t.Logf("drop_policy on h1: +%d", counter(t, c, h1, "drop_policy")-before)
	require.Greater(t, counter(t, c, h1, "drop_policy"), before)

	out, err := c.CLI(h1, "policy", "delete", "1")
	require.NoError(t, err, out)
	require.True(t, reaches(web.Name), "remote-node allowed once the rule is gone")
	require.False(t, reaches(attacker.Name))
}
