package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// netPolicyPorts are the TCP ports front's rule allows from app=web to app=db: one per phase
// of TestNetworkPolicy (each phase listens on its own port).
var netPolicyPorts = []uint16{5201, 5202}

// TestNetworkPolicy: policy per network (Rancher's defaultPolicyAction and policy on the
// network resource) on 3 hosts sharing etcd. front is created with --default-policy deny and a
// rule scoped to it allows app=web -> app=db on TCP 5201-5202; back with --default-policy
// allow; the default network follows the cluster's `policy default`. A web and a db container
// on each network, web on h1 and db on h2: per ordered pair, ping, TCP and UDP arrive exactly
// as the network's policy says (and never across networks), drop_policy counts the denied and
// monitor shows front's default-action drop. Then under the cluster's `policy default deny`
// back still allows everything (its own default) while the default network denies.
func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	ec.meshed(t)
	c := ec.Cluster
	h1, h2 := ec.Hosts[0], ec.Hosts[1]
	for _, args := range [][]string{
		{"front", "--subnet", "10.43.0.0/16", "--vni", "4096", "--default-policy", "deny"},
		{"back", "--subnet", "10.44.0.0/16", "--vni", "4097", "--default-policy", "allow"},
	} {
		out, err := c.CLI(h1, append([]string{"network", "create"}, args...)...)
		require.NoError(t, err, out)
	}
	out, err := c.CLI(h2, "network", "list")
	require.NoError(t, err, out)
	require.Regexp(t, `front\s+\d+\s+10.43.0.0/16\s+4096\s+vxlan\s+deny`, out, "h2 sees front's default policy")
	fw := addNetworkContainer(t, c, h1, "fw", "front", netip.MustParseAddr("10.43.0.10"), "app=web")
	fd := addNetworkContainer(t, c, h2, "fd", "front", netip.MustParseAddr("10.43.1.20"), "app=db")
	bw := addNetworkContainer(t, c, h1, "bw", "back", netip.MustParseAddr("10.44.0.10"), "app=web")
	bd := addNetworkContainer(t, c, h2, "bd", "back", netip.MustParseAddr("10.44.1.20"), "app=db")
	dw, err := c.AddContainer(h1, "dw", h1.PodCIDR.Addr().Next().Next(), "app=web")
	require.NoError(t, err)
	dd, err := c.AddContainer(h2, "dd", h2.PodCIDR.Addr().Next().Next(), "app=db")
	require.NoError(t, err)
	policyCLI(t, c, h1, "allow", "--from", "app=web", "--to", "app=db", "--port", "5201/tcp", "--port", "5202/tcp", "--network", "front")

	// The same labels on the three networks are three identities.
	ids := map[string]uint32{}
	for _, h := range []*testbed.Host{h1, h2} {
		out, err := c.CLI(h, "endpoint", "list", "-o", "json")
		require.NoError(t, err, out)
		var eps []api.Endpoint
		require.NoError(t, json.Unmarshal([]byte(out), &eps))
		for _, e := range eps {
			ids[e.Name] = e.Identity
		}
	}
	t.Logf("identities: %v", ids)
	require.NotEqual(t, ids["fw"], ids["bw"], "app=web on front and back")
	require.NotEqual(t, ids["fw"], ids["dw"], "app=web on front and default")
	require.NotEqual(t, ids["fd"], ids["bd"], "app=db on front and back")

	// Remote endpoints of the other networks are known before probing.
	ctx := t.Context()
	for _, p := range [][2]*testbed.Container{{bw, bd}, {dw, dd}} {
		require.Eventually(t, func() bool {
			ping, err := c.Bed.Ping(ctx, p[0].Name, p[1].IP, 1, 0)
			return err == nil && ping.Received == 1
		}, 10*time.Second, 200*time.Millisecond, "%s reaches %s", p[0].Name, p[1].Name)
	}

	cts := map[string]*testbed.Container{"fw": fw, "fd": fd, "bw": bw, "bd": bd, "dw": dw, "dd": dd}
	netOf := map[string]string{"fw": "front", "fd": "front", "bw": "back", "bd": "back", "dw": "default", "dd": "default"}
	var ifaces []netAddr
	for name, ct := range cts {
		ifaces = append(ifaces, netAddr{name, netOf[name], ct.IP})
	}
	// allowed says what the policy lets through: within front only web -> db on the rule's
	// TCP port; within back everything (its own allow); within default the cluster's default.
	type verdicts func(from, to, proto string) bool
	runPhase := func(phase string, port uint16, allowed verdicts) {
		t.Helper()
		dropsBefore := counter(t, c, h1, "drop_policy") + counter(t, c, h2, "drop_policy")
		got := reachability(t, c, ifaces, port)
		var want, arrived []string
		denied := 0
		for from := range cts {
			for to, ct := range cts {
				if from == to {
					continue
				}
				row := fmt.Sprintf("| %-24s | %s(%s) -> %s(%s) |", phase, from, netOf[from], to, netOf[to])
				for _, proto := range []string{"icmp", "tcp", "udp"} {
					k := from + "->" + ct.IP.String() + " " + proto
					ok := netOf[from] == netOf[to] && allowed(from, to, proto)
					if ok {
						want = append(want, k)
					} else if netOf[from] == netOf[to] {
						denied++
					}
					if got[k] {
						arrived = append(arrived, k)
						row += " " + proto + " arrived"
					} else {
						row += " " + proto + " -"
					}
				}
				t.Log(row)
			}
		}
		require.ElementsMatch(t, want, arrived, "%s: what arrives", phase)
		drops := counter(t, c, h1, "drop_policy") + counter(t, c, h2, "drop_policy") - dropsBefore
		t.Logf("%s: %d of %d probes within networks arrived, %d denied by policy, drop_policy +%d", phase, len(arrived), len(want)+denied, denied, drops)
		require.GreaterOrEqual(t, drops, uint64(denied), "%s: every denied probe within a network counts drop_policy", phase)
	}
	webToDBTCP := func(from, to, proto string) bool { return from == "fw" && to == "fd" && proto == "tcp" }
	runPhase("cluster default allow", netPolicyPorts[0], func(from, to, proto string) bool {
		return netOf[from] != "front" || webToDBTCP(from, to, proto)
	})

	// front's default action decides fd -> fw: monitor on fd's host (the sender knows fw's
	// identity) shows drop_policy by the default action.
	mon, err := c.Bed.Start(h2.Name, c.Binary, "--socket", h2.Socket, "monitor", "-o", "json", "--count", "1")
	require.NoError(t, err)
	for deadline := time.Now().Add(10 * time.Second); !mon.Exited(); {
		require.True(t, time.Now().Before(deadline), "no monitor saw the drop: %s", mon.Log())
		ping, err := c.Bed.Ping(context.Background(), fd.Name, fw.IP, 1, 0)
		require.NoError(t, err)
		require.Zero(t, ping.Received)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(mon.Log()), "\n")
	t.Logf("monitor: %s", line)
	var ev api.DropEvent
	require.NoError(t, json.Unmarshal([]byte(line), &ev), mon.Log())
	require.Equal(t, "drop_policy", ev.Reason)
	require.Equal(t, fd.IP, ev.Src)
	require.Equal(t, fw.IP, ev.Dst)
	require.Equal(t, ids["fd"], ev.SrcIdentity)
	require.Equal(t, ids["fw"], ev.DstIdentity)
	require.Equal(t, -1, ev.Rule, "front's default action decided")
	require.Equal(t, "network front's default action", ev.RuleText)
	out, err = c.CLI(h1, "policy", "explain", "--from", "fd", "--to", "fw")
	require.NoError(t, err, out)
	require.Contains(t, out, "network front's default action deny applies")

	// The cluster's default deny: back keeps its own allow, the default network denies.
	policyCLI(t, c, h1, "default", "deny")
	runPhase("cluster default deny", netPolicyPorts[1], func(from, to, proto string) bool {
		return netOf[from] == "back" || webToDBTCP(from, to, proto)
	})

	// Bad input: clear errors, the policy map byte for byte as it was.
	before := [2]string{dumpMap(t, h1, "policy"), dumpMap(t, h2, "policy")}
	textBefore := policyText(t, c, h1)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"policy", "allow", "--within", "stack", "--network", "nope"}, `rules[1].network: unknown network "nope"`},
		{[]string{"network", "create", "side", "--subnet", "10.45.0.0/16", "--default-policy", "drop"}, `invalid default policy "drop": want allow or deny`},
		{[]string{"network", "rm", "front"}, "network front has 2 endpoints attached"},
	} {
		out, err := c.CLI(h1, tc.args...)
		require.Error(t, err, "%v", tc.args)
		require.Contains(t, out, tc.msg, "%v", tc.args)
	}
	require.Equal(t, textBefore, policyText(t, c, h1))
	require.Equal(t, before, [2]string{dumpMap(t, h1, "policy"), dumpMap(t, h2, "policy")}, "policy maps unchanged")

	// A network that rules name cannot be removed.
	out, err = c.CLI(h1, "network", "create", "side", "--subnet", "10.45.0.0/16")
	require.NoError(t, err, out)
	policyCLI(t, c, h1, "deny", "--within", "stack", "--network", "side")
	out, err = c.CLI(h1, "network", "rm", "side")
	require.Error(t, err)
	require.Contains(t, out, "network side is named by policy rules 1: delete them first")
	out, err = c.CLI(h1, "network", "inspect", "side")
	require.NoError(t, err, out)
}
