package bpf_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// TestPolicyNetworkDefault: a network's own default deny under the cluster's default allow,
// compiled to per-pair entries, is what from_container enforces: c1 -> c2 on the network
// rule's port passes, other ports and the reverse direction are dropped by the default
// action (drop_policy, the default slot, an event with rule default), although the map's
// fallback allows.
func TestPolicyNetworkDefault(t *testing.T) {
	f := newFixture(t)
	ev := f.dropEvents(t)
	prog := f.dp.Programs().FromContainer
	p := policy.Policy{
		DefaultAction:   policy.ActionAllow,
		NetworkDefaults: map[string]policy.Action{"front": policy.ActionDeny},
		Rules: []policy.Rule{{Action: policy.ActionAllow, From: &policy.Selector{Selector: "app=web"},
			To: &policy.Selector{Selector: "app=db"}, Ports: []string{"80"}, Network: "front"}},
	}
	c, err := policy.Compile(p, []policy.Endpoint{
		{Name: "c1", Identity: c1ID, Labels: map[string]string{"app": "web"}, Network: "front"},
		{Name: "c2", Identity: c2ID, Labels: map[string]string{"app": "db"}, Network: "front"},
	})
	require.NoError(t, err)
	require.Equal(t, policy.VerdictAllow, c.Default, "the map's fallback is the cluster's allow")
	setPolicy(t, f, true, maps.PolicyEntriesOf(c)...)

	verdict, _ := f.run(t, prog, f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 40000, c2IP, 80))
	require.Equal(t, uint32(tcActRedirect), verdict, "front's rule allows web -> db port 80")

	before := f.counters(t)
	for _, pkt := range []struct {
		name string
		ifx  int
		data []byte
	}{
		{"web -> db port 81", f.lxc1, tcpSyn(t, c1MAC, routerMAC, c1IP, 40001, c2IP, 81)},
		{"db -> web ping", f.lxc2, icmpEcho(t, c2MAC, routerMAC, c2IP, c1IP, 64)},
	} {
		verdict, _ = f.run(t, prog, pkt.ifx, pkt.data)
		require.Equal(t, uint32(tcActShot), verdict, pkt.name)
		require.Equal(t, maps.RuleDefault, nextDrop(t, ev).Rule, "%s: decided by the default action", pkt.name)
	}
	require.Equal(t, uint64(2), counted(t, f, bpf.DatapathMetricMETRIC_DROP_POLICY, before))
	dflt, err := f.m.PolicyDrops.Read(f.m.PolicyDrops.DefaultRuleSlot())
	require.NoError(t, err)
	require.Equal(t, uint64(2), dflt.Packets)
}
