package e2e

import (
	"context"
	"encoding/json"
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

// reach is what one probe between two containers found.
type reach struct{ icmp, tcp, udp bool }

// probe tries ping, a TCP connection (iperf3 on port) and UDP datagrams (to port) from -> to.
func probe(t *testing.T, c *testbed.Cluster, from, to *testbed.Container, port uint16) reach {
	t.Helper()
	ctx := context.Background()
	var r reach
	ping, err := c.Bed.Ping(ctx, from.Name, to.IP, 2, 100*time.Millisecond)
	require.NoError(t, err)
	r.icmp = ping.Received == 2
	r.tcp = tcpReaches(t, c, from, to, port)
	r.udp = udpReaches(t, c, from, to, port)
	return r
}

// tcpReaches connects from -> to:port and checks that one echoed byte comes back (the reply
// direction included).
func tcpReaches(t *testing.T, c *testbed.Cluster, from, to *testbed.Container, port uint16) bool {
	t.Helper()
	l, err := c.Bed.ListenTCP(to.Name, netip.AddrPortFrom(to.IP, port))
	require.NoError(t, err)
	// The listener's socket is released only when the blocked Accept returns (Go closes an fd
	// at its last reference), so wait for it: a probe right after may bind the same port.
	done := make(chan struct{})
	defer func() {
		l.Close()
		<-done
	}()
	go func() {
		defer close(done)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 1)
		if _, err := conn.Read(buf); err == nil {
			_, _ = conn.Write(buf)
		}
	}()
	conn, err := c.Bed.DialTCP(from.Name, netip.AddrPortFrom(to.IP, port), 700*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	buf := []byte{42}
	if _, err := conn.Write(buf); err != nil {
		return false
	}
	_, err = conn.Read(buf)
	return err == nil && buf[0] == 42
}

// udpReaches sends 5 datagrams from -> to:port and reports whether any arrived.
func udpReaches(t *testing.T, c *testbed.Cluster, from, to *testbed.Container, port uint16) bool {
	t.Helper()
	srv, got := udpCounter(t, c, to, port)
	defer srv.Close()
	cl, err := c.Bed.DialUDP(from.Name, netip.AddrPortFrom(from.IP, 0), netip.AddrPortFrom(to.IP, port))
	require.NoError(t, err)
	defer cl.Close()
	for range 5 {
		_, _ = cl.Write([]byte("policy"))
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return got.Load() > 0
}

// policyCLI runs an `ebpfnet policy ...` command on h and requires success; after a change it
// waits until every host enforces the same policy (other hosts learn it through the store).
func policyCLI(t *testing.T, c *testbed.Cluster, h *testbed.Host, args ...string) string {
	t.Helper()
	out, err := c.CLI(h, append([]string{"policy"}, args...)...)
	require.NoError(t, err, out)
	if args[0] != "list" && args[0] != "explain" {
		want := policyText(t, c, h)
		for _, o := range c.Hosts {
			require.Eventually(t, func() bool { return policyText(t, c, o) == want }, 10*time.Second, 50*time.Millisecond,
				"policy on %s never matched %s's", o.Name, h.Name)
		}
	}
	return out
}

// policyText is h's policy as rule texts and default action, without counters.
func policyText(t *testing.T, c *testbed.Cluster, h *testbed.Host) string {
	out, err := c.CLI(h, "policy", "list", "-o", "json")
	require.NoError(t, err)
	var st api.PolicyState
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	text := string(st.DefaultAction)
	for _, r := range st.Rules {
		text += "|" + r.Text
	}
	return text
}

// policyContainers: c1 app=web and c2 app=db in stack s1, c3 app=web and c4 app=db in stack
// s2, all with tier labels (front for web, back for db); spread over the cluster's hosts
// round-robin.
func policyContainers(t *testing.T, c *testbed.Cluster) []*testbed.Container {
	t.Helper()
	specs := []struct{ app, stack, tier string }{{"web", "s1", "front"}, {"db", "s1", "back"}, {"web", "s2", "front"}, {"db", "s2", "back"}}
	var out []*testbed.Container
	for i, s := range specs {
		h := c.Hosts[i%len(c.Hosts)]
		ip := h.PodCIDR.Addr().Next().Next().Next() // .3, .4, ... per host
		for range i / len(c.Hosts) {
			ip = ip.Next()
		}
		ct, err := c.AddContainer(h, "p"+string(rune('1'+i)), ip,
			"app="+s.app, "io.rancher.stack.name="+s.stack, "tier="+s.tier)
		require.NoError(t, err)
		out = append(out, ct)
	}
	return out
}

// expectReach probes from -> to on port, logs a row of the allowed/denied table and requires
// want.
func expectReach(t *testing.T, c *testbed.Cluster, policyDesc string, from, to *testbed.Container, port uint16, want reach) {
	t.Helper()
	got := probe(t, c, from, to, port)
	mark := func(b bool) string {
		if b {
			return "allowed"
		}
		return "denied"
	}
	t.Logf("| %-38s | %s(%s) -> %s(%s) | %d | icmp %s, tcp %s, udp %s |", policyDesc, from.Name, from.Host.Name,
		to.Name, to.Host.Name, port, mark(got.icmp), mark(got.tcp), mark(got.udp))
	require.Equal(t, want, got, "%s: %s -> %s port %d", policyDesc, from.Name, to.Name, port)
}

// runPolicyScenario is the table on cluster c (one host: same host; more: across
// hosts): default deny, one allowed port, replies, within stack, between groupBy, monitor and
// explain, deleting a rule.
func runPolicyScenario(t *testing.T, c *testbed.Cluster) {
	h := c.Hosts[0]
	p := policyContainers(t, c)
	web1, db1, web2, db2 := p[0], p[1], p[2], p[3]
	all, none := reach{true, true, true}, reach{}

	expectReach(t, c, "default allow", web1, db1, 5201, all)

	policyCLI(t, c, h, "default", "deny")
	for _, pair := range [][2]*testbed.Container{{web1, db1}, {db1, web1}, {web1, db2}, {web2, web1}} {
		expectReach(t, c, "default deny", pair[0], pair[1], 5201, none)
	}

	// One allowed port: only TCP 5201 from web to db; replies pass; nothing else.
	policyCLI(t, c, h, "allow", "--from", "app=web", "--to", "app=db", "--port", "5201/tcp")
	const allowWebDB = "deny + allow web->db 5201/tcp"
	expectReach(t, c, allowWebDB, web1, db1, 5201, reach{tcp: true})
	expectReach(t, c, allowWebDB, web1, db2, 5201, reach{tcp: true})
	expectReach(t, c, allowWebDB, web1, db1, 5202, none)
	expectReach(t, c, allowWebDB, db1, web1, 5201, none)

	// An explicit deny rule decides a drop; monitor (on the destination's host, which decides)
	// shows it with the rule; explain agrees.
	policyCLI(t, c, h, "deny", "--from", "app=web", "--to", "app=db", "--port", "5202/tcp")
	// The sender drops early when it knows the destination's identity (always on one host,
	// and across hosts once the store has published the remote endpoints), else the receiver.
	mons := map[*testbed.Host]*testbed.Proc{}
	for _, mh := range []*testbed.Host{web1.Host, db1.Host} {
		if mons[mh] == nil {
			mon, err := c.Bed.Start(mh.Name, c.Binary, "--socket", mh.Socket, "monitor", "-o", "json", "--count", "1")
			require.NoError(t, err)
			mons[mh] = mon
		}
	}
	var mon *testbed.Proc
	exited := func() bool {
		for _, m := range mons {
			if m.Exited() {
				mon = m
				return true
			}
		}
		return false
	}
	// A monitor may subscribe late on a loaded machine: each try is a new connection, dropped
	// again, until one monitor has seen a drop.
	for deadline := time.Now().Add(10 * time.Second); !exited(); {
		require.True(t, time.Now().Before(deadline), "no monitor saw the drop")
		require.False(t, tcpReaches(t, c, web1, db1, 5202))
	}
	require.Equal(t, mons[web1.Host], mon, "dropped at the sender's host, before the underlay")
	var ev api.DropEvent
	line, _, _ := strings.Cut(strings.TrimSpace(mon.Log()), "\n")
	require.NoError(t, json.Unmarshal([]byte(line), &ev), mon.Log())
	t.Logf("monitor: %s", line)
	require.Equal(t, "drop_policy", ev.Reason)
	require.Equal(t, web1.IP, ev.Src)
	require.Equal(t, db1.IP, ev.Dst)
	require.Equal(t, uint16(5202), ev.DstPort)
	require.Equal(t, 1, ev.Rule, "the deny rule decided")
	require.Equal(t, "deny from app=web to app=db ports 5202/tcp", ev.RuleText)
	require.Equal(t, "web", ev.SrcLabels["app"])
	require.Equal(t, "db", ev.DstLabels["app"])
	require.Equal(t, db1.Name, ev.DstEndpoint)
	for _, eh := range c.Hosts { // explain works from any host, for endpoints of any host
		out := policyCLI(t, c, eh, "explain", "--from", web1.Name, "--to", db1.Name, "--port", "5202/tcp")
		require.Contains(t, out, "deny")
		require.Contains(t, out, "rule 1")
	}
	require.Contains(t, policyCLI(t, c, web1.Host, "list"), "deny from app=web to app=db ports 5202/tcp")

	// within stack, from a file (all or nothing).
	file := filepath.Join(c.Bed.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("defaultPolicyAction: deny\nrules:\n- action: allow\n  within: stack\n"), 0o644))
	policyCLI(t, c, h, "apply", "-f", file)
	expectReach(t, c, "deny + allow within stack", web1, db1, 5201, all)
	expectReach(t, c, "deny + allow within stack", db2, web2, 5201, all)
	expectReach(t, c, "deny + allow within stack", web1, db2, 5201, none)

	// between groupBy tier: web1 and web2 share tier front; web and db do not.
	require.NoError(t, os.WriteFile(file, []byte("defaultPolicyAction: deny\nrules:\n- action: allow\n  between: {groupBy: tier}\n"), 0o644))
	policyCLI(t, c, h, "apply", "-f", file)
	expectReach(t, c, "deny + allow between groupBy tier", web1, web2, 5201, all)
	expectReach(t, c, "deny + allow between groupBy tier", web1, db1, 5201, none)

	// A bad file changes nothing.
	require.NoError(t, os.WriteFile(file, []byte("defaultPolicyAction: deny\nrules:\n- action: allow\n  within: cluster\n"), 0o644))
	out, err := c.CLI(h, "policy", "apply", "-f", file)
	require.Error(t, err)
	require.Contains(t, out, `rules[0].within: "cluster" is not stack, service or linked`)
	expectReach(t, c, "(bad file refused) between groupBy tier", web1, web2, 5201, all)

	// Deleting a deny rule restores traffic.
	require.NoError(t, os.WriteFile(file, []byte("defaultPolicyAction: allow\nrules:\n- action: deny\n  from: {selector: app=web}\n  to: {selector: app=db}\n"), 0o644))
	policyCLI(t, c, h, "apply", "-f", file)
	expectReach(t, c, "allow + deny web->db", web1, db2, 5201, none)
	expectReach(t, c, "allow + deny web->db", db2, web1, 5201, all)
	policyCLI(t, c, h, "delete", "0")
	expectReach(t, c, "rule deleted: default allow", web1, db2, 5201, all)
}

// TestPolicySameHost runs the policy scenario with every container on one host.
func TestPolicySameHost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 0)
	runPolicyScenario(t, c)
}

// TestPolicyAcrossHosts runs the policy scenario over 3 hosts sharing an etcd store
// (identities and policy are cluster-wide): containers on different hosts, the sender's
// identity in VXLAN-GBP, enforcement at both ends.
func TestPolicyAcrossHosts(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	ec.meshed(t)
	runPolicyScenario(t, ec.Cluster)
}
