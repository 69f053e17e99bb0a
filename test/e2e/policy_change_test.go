package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// policyState is h's `policy list -o json`.
func policyState(t *testing.T, c *testbed.Cluster, h *testbed.Host) api.PolicyState {
	t.Helper()
	out, err := c.CLI(h, "policy", "list", "-o", "json")
	require.NoError(t, err, out)
	var st api.PolicyState
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	return st
}

// applyPolicyFile writes doc to a file and runs `policy apply -f` on h.
func applyPolicyFile(t *testing.T, c *testbed.Cluster, h *testbed.Host, doc any) (string, error) {
	t.Helper()
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	file := filepath.Join(c.Bed.TempDir(), "policy.json")
	require.NoError(t, os.WriteFile(file, data, 0o644))
	return c.CLI(h, "policy", "apply", "-f", file)
}

// fromTo is a from/to policy rule document (ports optional).
func fromTo(action, from, to string, ports ...string) map[string]any {
	r := map[string]any{"action": action, "from": map[string]string{"selector": from}, "to": map[string]string{"selector": to}}
	if len(ports) > 0 {
		r["ports"] = ports
	}
	return r
}

// appPair is a one-host cluster with containers "pa" (app=a) and "pb" (app=b).
func appPair(t *testing.T) (*testbed.Cluster, *testbed.Container, *testbed.Container) {
	t.Helper()
	c := newCluster(t, 1, 0)
	h := c.Hosts[0]
	a, err := c.AddContainer(h, "pa", h.PodCIDR.Addr().Next().Next(), "app=a")
	require.NoError(t, err)
	b, err := c.AddContainer(h, "pb", a.IP.Next(), "app=b")
	require.NoError(t, err)
	return c, a, b
}

// allPorts is every TCP and UDP port, 131,070 port specs.
func allPorts() []string {
	out := make([]string, 0, 2*65535)
	for p := 1; p <= 65535; p++ {
		out = append(out, fmt.Sprintf("%d/tcp", p), fmt.Sprintf("%d/udp", p))
	}
	return out
}

// TestPolicyTooBigOrReplaced (issue 10 items 5 and 6): a policy that does not fit the policy
// map is refused with the numbers before it is stored (the store keeps the policy in force,
// a restart works); a policy that fills the map is replaced by a small one as a whole, with
// nothing of the old one left. On main the too-big policy was stored anyway ("map is full"),
// `policy list` showed it and the agent no longer restarted.
func TestPolicyTooBigOrReplaced(t *testing.T) {
	t.Parallel()
	c, a, b := appPair(t)
	h := c.Hosts[0]

	// 4 identity pairs x 131,070 ports: twice the map.
	huge := map[string]any{"defaultPolicyAction": "allow", "rules": []any{fromTo("deny", "app in (a,b)", "app in (a,b)", allPorts()...)}}
	out, err := applyPolicyFile(t, c, h, huge)
	require.Error(t, err)
	t.Logf("too big: %s", strings.TrimSpace(out))
	require.Contains(t, out, "policy compiles to 524280 entries; the policy map holds 262144")
	st := policyState(t, c, h)
	require.Empty(t, st.Rules, "nothing stored")
	require.Equal(t, 0, st.Entries)

	// 2 pairs x 131,070 = 262,140 entries: fills the map, then a 1-rule policy replaces it.
	big := map[string]any{"defaultPolicyAction": "allow", "rules": []any{fromTo("deny", "app=a", "app in (a,b)", allPorts()...)}}
	out, err = applyPolicyFile(t, c, h, big)
	require.NoError(t, err, out)
	require.Equal(t, 262140, policyState(t, c, h).Entries)
	expectReach(t, c, "allow + deny a->(a,b) every port", a, b, 5201, reach{icmp: true})

	small := map[string]any{"defaultPolicyAction": "allow", "rules": []any{fromTo("deny", "app=a", "app=b", "5201/tcp")}}
	out, err = applyPolicyFile(t, c, h, small)
	require.NoError(t, err, out)
	st = policyState(t, c, h)
	require.Len(t, st.Rules, 1)
	require.Equal(t, 1, st.Entries, "the old policy's entries are all gone")
	expectReach(t, c, "allow + deny a->b 5201/tcp", a, b, 5201, reach{icmp: true, udp: true})
	expectReach(t, c, "allow + deny a->b 5201/tcp", a, b, 5202, reach{icmp: true, tcp: true, udp: true})

	// A restart enforces the stored policy.
	require.NoError(t, c.KillAgent(h))
	require.NoError(t, c.StartAgent(h))
	require.Equal(t, 1, policyState(t, c, h).Entries)
	expectReach(t, c, "after restart", a, b, 5201, reach{icmp: true, udp: true})
}

// TestPolicyDropCountersReset (issue 10 item 10, issue 11 item 4): a rule's drop counter
// belongs to that rule; when `policy apply` puts another rule at its index (or removes it) the
// count starts at zero, while an unchanged rule keeps its count. On main the old counts showed
// on the new rules by position.
func TestPolicyDropCountersReset(t *testing.T) {
	t.Parallel()
	c, a, b := appPair(t)
	h := c.Hosts[0]
	deny := func(port string) map[string]any { return fromTo("deny", "app=a", "app=b", port) }
	_, err := applyPolicyFile(t, c, h, map[string]any{"defaultPolicyAction": "allow", "rules": []any{deny("5201/tcp"), deny("5202/tcp")}})
	require.NoError(t, err)
	require.False(t, tcpReaches(t, c, a, b, 5201))
	require.False(t, tcpReaches(t, c, a, b, 5202))
	st := policyState(t, c, h)
	require.Positive(t, st.Rules[0].Dropped)
	kept := st.Rules[1].Dropped
	require.Positive(t, kept)

	allow := fromTo("allow", "app=a", "app=b")
	_, err = applyPolicyFile(t, c, h, map[string]any{"defaultPolicyAction": "allow", "rules": []any{allow, deny("5202/tcp")}})
	require.NoError(t, err)
	st = policyState(t, c, h)
	t.Logf("after replacing rule 0: rule 0 dropped %d, rule 1 dropped %d (was %d)", st.Rules[0].Dropped, st.Rules[1].Dropped, kept)
	require.Zero(t, st.Rules[0].Dropped, "a new rule at index 0 starts at zero")
	require.Equal(t, kept, st.Rules[1].Dropped, "the unchanged rule keeps its count")
}

// TestIdentityGC (issue 10 item 7): identities no endpoint uses are freed after the grace
// period, so the compiled policy shrinks back; a 70 KB label is refused with a clear error.
// On main identities were never freed (the policy only grew) and the label was accepted.
func TestIdentityGC(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 0, "--identity-gc-grace", "1s")
	h := c.Hosts[0]
	ports := make([]string, 200)
	for i := range ports {
		ports[i] = fmt.Sprintf("%d/tcp", i+1)
	}
	_, err := applyPolicyFile(t, c, h, map[string]any{"defaultPolicyAction": "allow", "rules": []any{fromTo("deny", "app=x", "app=y", ports...)}})
	require.NoError(t, err)
	ip := h.PodCIDR.Addr().Next().Next()
	_, err = c.AddContainer(h, "x1", ip, "app=x")
	require.NoError(t, err)
	_, err = c.AddContainer(h, "y1", ip.Next(), "app=y", "n=1")
	require.NoError(t, err)
	base := policyState(t, c, h).Entries
	for i, name := range []string{"y2", "y3"} {
		_, err = c.AddContainer(h, name, ip.Next().Next().Next().Next(), "app=y", fmt.Sprintf("n=%d", i+2))
		require.NoError(t, err)
		_, err = c.CLI(h, "endpoint", "del", name)
		require.NoError(t, err)
	}
	grown := policyState(t, c, h).Entries
	t.Logf("policy entries: %d with x1, y1; %d after two more identities came and went", base, grown)
	require.Greater(t, grown, base)
	require.Eventually(t, func() bool { return policyState(t, c, h).Entries == base }, 20*time.Second, 200*time.Millisecond,
		"unused identities freed, policy back to %d entries", base)

	netnsPath, err := c.Bed.Netns("big")
	require.NoError(t, err)
	out, err := c.CLI(h, "endpoint", "add", "big", "--netns", netnsPath, "--ip", ip.Next().Next().String(), "--label", "app="+strings.Repeat("a", 70*1024))
	require.Error(t, err)
	require.Contains(t, out, "invalid value of label app")
	require.Less(t, len(out), 1000, "the error does not echo 70 KB")
}

// TestConntrackQuotaFlood (issue 10 item 8): a container flooding new UDP flows is held to its
// fair share of conntrack (drop_ct_quota), another container's new flows still work at once,
// and `ebpfnet status` shows the use per endpoint. On main the flood filled the table and the
// other container's new flows failed until idle entries expired.
func TestConntrackQuotaFlood(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 0, "--ct-max", "1024")
	h := c.Hosts[0]
	ip := h.PodCIDR.Addr().Next().Next()
	flooder, err := c.AddContainer(h, "flood", ip, "app=flood")
	require.NoError(t, err)
	victim, err := c.AddContainer(h, "victim", ip.Next(), "app=victim")
	require.NoError(t, err)
	policyCLI(t, c, h, "deny", "--from", "app=nobody", "--to", "app=victim") // enforcement on
	srv, err := c.Bed.ListenUDP(victim.Name, netip.AddrPortFrom(victim.IP, 5201))
	require.NoError(t, err)
	defer srv.Close()
	for range 1100 { // every socket a new source port: a new flow
		cl, err := c.Bed.DialUDP(flooder.Name, netip.AddrPortFrom(flooder.IP, 0), netip.AddrPortFrom(victim.IP, 5201))
		require.NoError(t, err)
		_, _ = cl.Write([]byte("flood"))
		cl.Close()
	}
	st := status(t, c, h)
	require.NotEmpty(t, st.Conntrack)
	top := st.Conntrack[0]
	t.Logf("status: %+v; drop_ct_quota %d, drop_ct_full %d", st.Conntrack, counter(t, c, h, "drop_ct_quota"), counter(t, c, h, "drop_ct_full"))
	require.Equal(t, flooder.Name, top.Endpoint)
	require.Equal(t, 1024/3, top.Limit, "fair share: ct-max / (2 endpoints + 1)")
	require.Equal(t, top.Limit, top.Entries)
	require.Positive(t, counter(t, c, h, "drop_ct_quota"))
	require.Zero(t, counter(t, c, h, "drop_ct_full"))
	require.True(t, udpReaches(t, c, victim, flooder, 5202), "the other container opens new flows")
	out, err := c.CLI(h, "status")
	require.NoError(t, err)
	require.Contains(t, out, "conntrack flood")
}

// TestIdentityGCAcrossHosts: with etcd, identities are freed cluster-wide: one used only by an
// endpoint of another host is kept by every host's GC, one no endpoint of any host uses is
// freed and every host's compiled policy shrinks back.
func TestIdentityGCAcrossHosts(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, false)
	for _, h := range ec.Hosts {
		require.NoError(t, ec.StartAgent(h, append(ec.agentArgs(h), "--identity-gc-grace", "1s")...))
		h.PodCIDR = status(t, ec.Cluster, h).Node.PodCIDR
	}
	h1, h2 := ec.Hosts[0], ec.Hosts[1]
	policyCLI(t, ec.Cluster, h1, "deny", "--from", "app=x", "--to", "app=y", "--port", "5201/tcp")
	_, err := ec.AddContainer(h1, "x1", h1.PodCIDR.Addr().Next().Next(), "app=x")
	require.NoError(t, err)
	_, err = ec.AddContainer(h2, "y1", h2.PodCIDR.Addr().Next().Next(), "app=y", "n=1")
	require.NoError(t, err)
	base := map[string]int{}
	for _, h := range ec.Hosts {
		require.Eventually(t, func() bool { base[h.Name] = policyState(t, ec.Cluster, h).Entries; return base[h.Name] > 0 },
			10*time.Second, 100*time.Millisecond)
	}
	_, err = ec.AddContainer(h2, "y2", h2.PodCIDR.Addr().Next().Next().Next(), "app=y", "n=2")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return policyState(t, ec.Cluster, h1).Entries > base[h1.Name] }, 10*time.Second,
		100*time.Millisecond, "y2's identity compiled on h1")
	_, err = ec.CLI(h2, "endpoint", "del", "y2")
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // several grace periods: y1's identity, used on h2 only, stays
	for _, h := range ec.Hosts {
		require.Eventually(t, func() bool { return policyState(t, ec.Cluster, h).Entries == base[h.Name] }, 20*time.Second,
			200*time.Millisecond, "%s: back to %d entries", h.Name, base[h.Name])
	}
	t.Logf("entries per host after GC: %v", base)
	require.False(t, tcpReaches(t, ec.Cluster, ec.Containers[0], ec.Containers[1], 5201), "x1 -> y1 still denied: y1's identity kept")
}
