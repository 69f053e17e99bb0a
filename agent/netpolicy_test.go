package agent

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// netPolicyAgent is networkAgent with networks front (its own default deny) and back (the
// cluster's default), and endpoints f1, f2 on front and b1 on back that all carry app=web,
// their identities allocated as addEndpoint does.
func netPolicyAgent(t *testing.T) (*Agent, map[string]uint32) {
	a := networkAgent(t)
	ctx := t.Context()
	_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16", DefaultPolicy: "deny"})
	require.NoError(t, err)
	_, err = a.CreateNetwork(ctx, api.NetworkRequest{Name: "back", Subnet: "10.44.0.0/16"})
	require.NoError(t, err)
	ids := map[string]uint32{}
	for i, e := range []struct{ name, network, ip, app string }{
		{"f1", "front", "10.43.0.5", "web"}, {"f2", "front", "10.43.0.6", "db"}, {"b1", "back", "10.44.0.5", "web"},
		{"d1", "", "10.42.0.5", "web"},
	} {
		ep := api.Endpoint{Name: e.name, IP: netip.MustParseAddr(e.ip), Network: e.network, Labels: map[string]string{"app": e.app}, IfIndex: 10 + i}
		ep.Identity, err = a.store.Identity(ctx, labelsKey(identityLabels(ep.Labels, ep.Network)))
		require.NoError(t, err)
		require.NoError(t, a.store.PutEndpoint(ctx, ep))
		ids[e.name] = ep.Identity
	}
	return a, ids
}

// TestNetworkPolicyCompile: the same labels on two networks are two identities; front's
// default deny and its network-scoped rule compile to entries for front's pairs only, the
// other networks keep the cluster default.
func TestNetworkPolicyCompile(t *testing.T) {
	a, ids := netPolicyAgent(t)
	require.NotEqual(t, ids["f1"], ids["b1"], "app=web on front and on back: two identities")
	require.NotEqual(t, ids["b1"], ids["d1"])
	p := policy.Policy{DefaultAction: policy.ActionAllow, Rules: []policy.Rule{
		{Action: policy.ActionAllow, From: &policy.Selector{Selector: "app=web"}, To: &policy.Selector{Selector: "app=db"}, Ports: []string{"80"}, Network: "front"},
	}}
	c, err := a.compilePolicy(t.Context(), p)
	require.NoError(t, err)
	for _, tc := range []struct {
		src, dst string
		proto    uint8
		port     uint16
		want     policy.Verdict
		rule     int
	}{
		{"f1", "f2", policy.ProtoTCP, 80, policy.VerdictAllow, 0},
		{"f1", "f2", policy.ProtoTCP, 81, policy.VerdictDeny, -1},
		{"f2", "f1", policy.ProtoTCP, 80, policy.VerdictDeny, -1},
		{"f1", "f1", policy.ProtoICMP, 0, policy.VerdictDeny, -1},
		{"b1", "b1", policy.ProtoICMP, 0, policy.VerdictAllow, -1},
		{"d1", "d1", policy.ProtoTCP, 80, policy.VerdictAllow, -1},
	} {
		v, r := c.Lookup(ids[tc.src], ids[tc.dst], tc.proto, tc.port)
		require.Equal(t, tc.want, v, "%s->%s %d/%d", tc.src, tc.dst, tc.port, tc.proto)
		require.Equal(t, tc.rule, r, "%s->%s %d/%d", tc.src, tc.dst, tc.port, tc.proto)
	}
	for _, e := range c.Entries {
		require.NotContains(t, []uint32{ids["b1"], ids["d1"]}, e.Dst, "no entries for networks on the cluster default: %+v", e)
	}

	// Explain names front's default.
	ex, err := a.ExplainPolicy(t.Context(), "f2", "f1", "80/tcp")
	require.NoError(t, err)
	require.Equal(t, "deny", ex.Verdict)
	require.Contains(t, ex.Text, "network front's default action deny applies")
}

// TestNetworkPolicyBadInput: a rule naming an unknown network is refused naming it and
// nothing is stored; a network named by a rule cannot be removed.
func TestNetworkPolicyBadInput(t *testing.T) {
	a, _ := netPolicyAgent(t)
	ctx := t.Context()
	_, err := a.compilePolicy(ctx, policy.Policy{Rules: []policy.Rule{{Action: policy.ActionAllow, Within: policy.WithinStack, Network: "nope"}}})
	require.ErrorIs(t, err, api.ErrInvalid)
	require.EqualError(t, err, `invalid policy: rules[0].network: unknown network "nope" (networks: default, back, front)`)

	_, err = a.CreateNetwork(ctx, api.NetworkRequest{Name: "side", Subnet: "10.45.0.0/16"})
	require.NoError(t, err)
	require.NoError(t, a.store.PutPolicy(ctx, policy.Policy{Rules: []policy.Rule{{Action: policy.ActionDeny, Within: policy.WithinStack, Network: "side"}}}))
	err = a.DeleteNetwork(ctx, "side")
	require.ErrorIs(t, err, api.ErrConflict)
	require.EqualError(t, err, "network side is named by policy rules 0: delete them first (ebpfnet policy delete N)")
	_, err = a.Network(ctx, "side")
	require.NoError(t, err, "the network stays")
}
