package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// etcdIP is where the test etcd listens: on the underlay bridge in the switch namespace, so
// the agents (in their host namespaces) reach it over the underlay.
var etcdIP = netip.MustParseAddr("172.31.0.254")

// etcdNodeTTL is the agents' lease TTL in these tests.
const etcdNodeTTL = 3 * time.Second

// etcdCluster is a 3-host cluster whose agents share an etcd store and know nothing else: no
// --pod-cidr, no peer add.
type etcdCluster struct {
	*testbed.Cluster
	etcd  *testbed.Etcd
	certs *testbed.TLSCerts // nil: plain HTTP
}

// newEtcdCluster starts etcd (with client-cert TLS if tls) and, if startAgents, the agents.
func newEtcdCluster(t *testing.T, tls, startAgents bool) *etcdCluster {
	t.Helper()
	if _, err := testbed.EtcdBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	bed, err := testbed.New(testbed.UniquePrefix("k"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bed.Close()) })
	c, err := testbed.NewCluster(bed, binary, 3)
	require.NoError(t, err)
	c.AgentArgs = suiteAgentArgs()
	ec := &etcdCluster{Cluster: c}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range c.Hosts {
				if h.Agent != nil {
					t.Logf("agent %s log:\n%s", h.Name, h.Agent.Log())
				}
			}
			if ec.etcd != nil {
				t.Logf("etcd log (tail):\n%s", lastLines(ec.etcd.Log(), 30))
			}
		}
		require.NoError(t, c.Close())
		if ec.etcd != nil {
			require.NoError(t, ec.etcd.Close())
		}
	})
	if tls {
		ec.certs, err = testbed.WriteTLSCerts(bed.TempDir(), etcdIP)
		require.NoError(t, err)
	}
	ec.etcd, err = c.StartEtcd(etcdIP, ec.certs)
	require.NoError(t, err)
	for _, h := range c.Hosts {
		h.PodCIDR = netip.Prefix{} // the store allocates it
		if startAgents {
			require.NoError(t, ec.startAgent(h))
		}
	}
	return ec
}

// agentArgs are h's agent flags for the etcd store, under its own node name.
func (ec *etcdCluster) agentArgs(h *testbed.Host) []string {
	args := []string{"--store", "etcd", "--etcd-endpoints", ec.etcd.URL(), "--node-name", h.Name, "--node-ttl", etcdNodeTTL.String()}
	if ec.certs != nil {
		args = append(args, "--etcd-cacert", ec.certs.CA, "--etcd-cert", ec.certs.ClientCert, "--etcd-key", ec.certs.ClientKey)
	}
	return args
}

// startAgent starts h's agent on the etcd store.
func (ec *etcdCluster) startAgent(h *testbed.Host) error {
	return ec.StartAgent(h, ec.agentArgs(h)...)
}

func lastLines(s string, n int) string {
	lines := 0
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			if lines++; lines > n {
				return s[i+1:]
			}
		}
	}
	return s
}

// meshed records the pod CIDR each agent of ec got from the store and waits until every host
// routes every other host's pod CIDR (within 10 s).
func (ec *etcdCluster) meshed(t *testing.T) {
	t.Helper()
	for _, h := range ec.Hosts {
		h.PodCIDR = status(t, ec.Cluster, h).Node.PodCIDR
	}
	for _, h := range ec.Hosts {
		for _, o := range ec.Hosts {
			if o != h {
				waitIPCacheRoute(t, h, o.PodCIDR, o.UnderlayIP, 10*time.Second)
			}
		}
	}
}

// pinnedMap opens h's pinned map name read-only; it is closed at cleanup.
func pinnedMap(t *testing.T, h *testbed.Host, name string) *ebpf.Map {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(filepath.Join(h.PinDir, name), &ebpf.LoadPinOptions{ReadOnly: true})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// ipcacheRoutes reads h's pinned ipcache: prefix -> tunnel endpoint (invalid Addr = this host).
func ipcacheRoutes(t *testing.T, h *testbed.Host) map[netip.Prefix]netip.Addr {
	t.Helper()
	all, err := maps.NewIPCache(pinnedMap(t, h, "ipcache")).All()
	require.NoError(t, err)
	out := map[netip.Prefix]netip.Addr{}
	for _, r := range all {
		out[r.Prefix] = r.TunnelEndpoint
	}
	return out
}

// waitIPCacheRoute waits until h's ipcache routes cidr via via (an invalid via: has no route for
// cidr) and returns how long that took.
func waitIPCacheRoute(t *testing.T, h *testbed.Host, cidr netip.Prefix, via netip.Addr, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	require.Eventually(t, func() bool {
		got, ok := ipcacheRoutes(t, h)[cidr]
		if !via.IsValid() {
			return !ok
		}
		return ok && got == via
	}, within, 50*time.Millisecond, "%s: route %s via %s (want absent: %t); ipcache %v", h.Name, cidr, via, !via.IsValid(), ipcacheRoutes(t, h))
	return time.Since(start)
}

// etcdClient is an etcd client for ec's server whose connections are made inside the bed's
// switch namespace: only the dialing thread enters it, briefly, so the test process stays in
// its own namespace.
func etcdClient(t *testing.T, ec *etcdCluster) *clientv3.Client {
	t.Helper()
	target, err := ec.Bed.NsHandle("sw")
	require.NoError(t, err)
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			return nil, err
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			return nil, err
		}
		var d net.Dialer
		conn, dialErr := d.DialContext(ctx, "tcp", addr)
		if err := netns.Set(orig); err != nil {
			if conn != nil {
				conn.Close()
			}
			return nil, err // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		return conn, dialErr
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ec.etcd.URL()}, DialTimeout: 5 * time.Second,
		Logger: zap.NewNop(), DialOptions: []grpc.DialOption{grpc.WithContextDialer(dial)}})
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

// etcdGet reads one key of the store.
func etcdGet(t *testing.T, cli *clientv3.Client, key string) *mvccpb.KeyValue {
	t.Helper()
	resp, err := cli.Get(t.Context(), key)
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "key %s", key)
	return resp.Kvs[0]
}

// nodeList runs `ebpfnet node list -o json` on h.
func nodeList(t *testing.T, c *testbed.Cluster, h *testbed.Host) map[string]api.NodeInfo {
	t.Helper()
	out, err := c.CLI(h, "node", "list", "-o", "json")
	require.NoError(t, err)
	var list []api.NodeInfo
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	m := map[string]api.NodeInfo{}
	for _, n := range list {
		m[n.Name] = n
	}
	return m
}

// requirePing asserts that all count echoes from -> to come back.
func requirePing(t *testing.T, c *testbed.Cluster, from, to *testbed.Container, count int) {
	t.Helper()
	st, err := c.Bed.Ping(context.Background(), from.Name, to.IP, count, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, count, st.Received, "ping %s(%s) -> %s(%s)", from.Name, from.Host.Name, to.Name, to.Host.Name)
}

// TestEtcdControlPlane: three hosts that share only an etcd store allocate distinct pod CIDRs,
// learn each other's routes and carry ping and TCP between all of them. A SIGKILLed agent's
// lease expires and the others drop its route; restarted, it gets the same CIDR back and
// routes return. With etcd down, traffic keeps flowing, status says the store is unhealthy
// and changes are refused; a node that dies meanwhile is removed once etcd is back, and
// returns when restarted.
func TestEtcdControlPlane(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	c := ec.Cluster
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	cluster := netip.MustParsePrefix("10.42.0.0/16")

	// Allocation: one distinct /24 of the cluster CIDR per host, reported by status.
	cidr := map[string]netip.Prefix{}
	seen := map[netip.Prefix]string{}
	for _, h := range c.Hosts {
		st := status(t, c, h)
		p := st.Node.PodCIDR
		require.True(t, p.Bits() == 24 && cluster.Contains(p.Addr()), "%s: pod CIDR %s", h.Name, p)
		require.NotContains(t, seen, p, "%s and %s share %s", h.Name, seen[p], p)
		seen[p], cidr[h.Name] = h.Name, p
		require.Equal(t, p.Addr().Next(), st.Node.Gateway)
		require.Equal(t, api.StoreStatus{Kind: "etcd", Healthy: true, NodeName: h.Name, Registered: true}, st.Store)
		require.Equal(t, "etcd://"+etcdIP.String()+":2379/ebpfnet/", st.StatePath)
	}
	// Routes: every host learns the other two from the store alone.
	for _, h := range c.Hosts {
		for _, o := range c.Hosts {
			if o != h {
				waitIPCacheRoute(t, h, cidr[o.Name], o.UnderlayIP, 5*time.Second)
			}
		}
		require.Equal(t, 3, status(t, c, h).Nodes)
		require.Equal(t, 2, status(t, c, h).Peers)
	}
	list := nodeList(t, c, h1)
	require.Len(t, list, 3)
	for _, h := range c.Hosts {
		n := list[h.Name]
		want := api.NodeRecord{Name: h.Name, UnderlayIP: h.UnderlayIP, PodCIDR: cidr[h.Name],
			VTEPMAC: fmt.Sprintf("0e:00:ac:1f:00:%02x", h.UnderlayIP.As4()[3])}
		if suiteEncrypted() { // the record carries the node's WireGuard key and port
			require.Len(t, n.WGPublicKey, 44, h.Name)
			want.WGPublicKey, want.WGPort = n.WGPublicKey, 51820
		}
		require.Equal(t, want, n.NodeRecord)
		require.True(t, n.LeaseHealthy, h.Name)
		require.Equal(t, h == h1, n.Self)
	}
	out, err := c.CLI(h1, "node", "list")
	require.NoError(t, err)
	require.Contains(t, out, "h1 (self)")
	require.Contains(t, out, cidr["h3"].String())

	// One container per host, addressed from its host's allocated CIDR.
	var cts []*testbed.Container
	for i, h := range c.Hosts {
		ct, err := c.AddContainer(h, fmt.Sprintf("c%d", i+1), cidr[h.Name].Addr().Next().Next(), "app=web")
		require.NoError(t, err)
		cts = append(cts, ct)
	}
	c1, c2, c3 := cts[0], cts[1], cts[2]
	ctx := context.Background()
	for _, from := range cts {
		for _, to := range cts {
			if from != to {
				requirePing(t, c, from, to, 3)
			}
		}
	}
	for _, pair := range [][2]*testbed.Container{{c1, c2}, {c2, c3}, {c3, c1}} {
		tr, err := c.Bed.TCPTransfer(ctx, pair[0].Name, pair[1].Name, pair[1].IP, 5201, time.Second)
		require.NoError(t, err, "tcp %s -> %s", pair[0].Name, pair[1].Name)
		require.Positive(t, tr.Bytes)
		t.Logf("TCP %s(%s) -> %s(%s): %.2f Gbit/s", pair[0].Name, pair[0].Host.Name, pair[1].Name, pair[1].Host.Name, tr.Gbps)
	}
	var eps []api.Endpoint
	ids := map[uint32]bool{}
	for _, h := range c.Hosts {
		out, err := c.CLI(h, "endpoint", "list", "-o", "json")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal([]byte(out), &eps))
		require.Len(t, eps, 1, "%s lists only its own endpoint", h.Name)
		ids[eps[0].Identity] = true
	}
	require.Len(t, ids, 1, "one cluster-wide identity for app=web")

	// The key layout in etcd.
	cli := etcdClient(t, ec)
	kv := etcdGet(t, cli, "/ebpfnet/nodes/h1")
	require.NotZero(t, kv.Lease, "node key attached to a lease")
	var rec api.NodeRecord
	require.NoError(t, json.Unmarshal(kv.Value, &rec))
	require.Equal(t, list["h1"].NodeRecord, rec)
	ttl, err := cli.TimeToLive(t.Context(), clientv3.LeaseID(kv.Lease))
	require.NoError(t, err)
	require.Equal(t, int64(etcdNodeTTL.Seconds()), ttl.GrantedTTL)
	require.JSONEq(t, `{"node":"h2"}`, string(etcdGet(t, cli, "/ebpfnet/cidrs/"+cidr["h2"].String()).Value))
	require.Zero(t, etcdGet(t, cli, "/ebpfnet/cidrs/"+cidr["h2"].String()).Lease, "allocations outlive leases")
	var ep api.Endpoint
	require.NoError(t, json.Unmarshal(etcdGet(t, cli, "/ebpfnet/endpoints/h3/c3").Value, &ep))
	require.Equal(t, c3.IP, ep.IP)
	idKeys, err := cli.Get(t.Context(), "/ebpfnet/identities/", clientv3.WithPrefix())
	require.NoError(t, err)
	require.Len(t, idKeys.Kvs, 1, "one identity for the one label set app=web")
	require.Contains(t, string(idKeys.Kvs[0].Key), "web", "keyed by the canonical label set")
	require.Equal(t, fmt.Sprint(ep.Identity), string(idKeys.Kvs[0].Value))
	require.Equal(t, fmt.Sprint(ep.Identity+1), string(etcdGet(t, cli, "/ebpfnet/identity-next").Value))

	// A store error (an undecodable static peer of h1) makes h1's reconcile fail: nothing is
	// swept, traffic goes on; once the record is gone, h1 reconciles again.
	before := ipcacheRoutes(t, h1)
	_, err = cli.Put(t.Context(), "/ebpfnet/peers/h1/10.42.250.0/24", "{not json")
	require.NoError(t, err)
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	require.NoError(t, h1.Agent.WaitLog(waitCtx, "reconcile with the cluster store"))
	cancel()
	require.Equal(t, before, ipcacheRoutes(t, h1), "a failed reconcile swept routes")
	requirePing(t, c, c1, c2, 3)
	_, err = c.CLI(h1, "peer", "list")
	require.ErrorContains(t, err, "decode /ebpfnet/peers/h1/10.42.250.0/24")
	_, err = cli.Delete(t.Context(), "/ebpfnet/peers/h1/10.42.250.0/24")
	require.NoError(t, err)
	out, err = c.CLI(h1, "peer", "list")
	require.NoError(t, err)
	require.Contains(t, out, cidr["h2"].String())
	require.Equal(t, before, ipcacheRoutes(t, h1))

	// A crashed agent: its lease runs out and the others drop its route.
	require.NoError(t, c.KillAgent(h3))
	killed := time.Now()
	for _, h := range []*testbed.Host{h1, h2} {
		waitIPCacheRoute(t, h, cidr["h3"], netip.Addr{}, etcdNodeTTL+5*time.Second)
	}
	gone := time.Since(killed)
	t.Logf("h3 SIGKILLed: its route left h1 and h2 after %s (node TTL %s)", gone.Round(10*time.Millisecond), etcdNodeTTL)
	// Keep-alives go out every TTL/3, so the lease ends between 2/3 TTL and 1 TTL after the kill.
	require.GreaterOrEqual(t, gone, etcdNodeTTL/3, "removed before the lease could have expired")
	st, err := c.Bed.Ping(ctx, c1.Name, c3.IP, 3, 100*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, st.Received, "c1 still reaches c3 after h3 left")
	out, err = c.CLI(h1, "node", "list")
	require.NoError(t, err)
	t.Logf("ebpfnet node list on h1 after h3 left:\n%s", out)
	require.Contains(t, out, "expired (holds its pod CIDR)")
	n3 := nodeList(t, c, h1)["h3"]
	require.False(t, n3.LeaseHealthy)
	require.Equal(t, cidr["h3"], n3.PodCIDR, "h3 still holds its pod CIDR")
	require.Equal(t, 2, status(t, c, h1).Nodes)
	requirePing(t, c, c1, c2, 3)

	// Restarted: same CIDR, routes back.
	restarted := time.Now()
	require.NoError(t, ec.startAgent(h3))
	require.Equal(t, cidr["h3"], status(t, c, h3).Node.PodCIDR, "same pod CIDR after restart")
	for _, h := range []*testbed.Host{h1, h2} {
		waitIPCacheRoute(t, h, cidr["h3"], h3.UnderlayIP, 5*time.Second)
	}
	t.Logf("h3 restarted: routes back on h1 and h2 %s after the restart began", time.Since(restarted).Round(10*time.Millisecond))
	requirePing(t, c, c1, c3, 3)
	requirePing(t, c, c3, c2, 3)

	// etcd outage: traffic keeps flowing for longer than the node TTL, status says unhealthy,
	// changes are refused, and a node dies meanwhile.
	type result struct {
		st  testbed.PingStats
		err error
	}
	const outagePings = 80 // 8 s at 100 ms, > 2 node TTLs
	pings := map[string]chan result{}
	for _, to := range []*testbed.Container{c2, c3} {
		ch := make(chan result, 1)
		pings[to.Name] = ch
		go func() {
			st, err := c.Bed.Ping(context.Background(), c1.Name, to.IP, outagePings, 100*time.Millisecond)
			ch <- result{st, err}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, ec.etcd.Kill())
	down := time.Now()
	require.Eventually(t, func() bool { return !status(t, c, h1).Store.Healthy }, 5*time.Second, 100*time.Millisecond)
	t.Logf("etcd killed: h1 reports the store unhealthy after %s", time.Since(down).Round(10*time.Millisecond))
	st1 := status(t, c, h1)
	require.Contains(t, st1.Store.Error, "cluster store (etcd) is unavailable")
	require.Equal(t, 1, st1.Endpoints, "last known counts")
	require.Equal(t, 3, st1.Nodes)
	out, err = c.CLI(h1, "status")
	require.NoError(t, err)
	require.Contains(t, out, "etcd, UNHEALTHY")
	t.Logf("ebpfnet status on h1 while etcd is down:\n%s", out)

	spare, err := c.Bed.Netns("c9")
	require.NoError(t, err)
	epsBefore := dumpMap(t, h2, "endpoints")
	out, err = c.CLI(h2, "endpoint", "add", "c9", "--netns", spare, "--ip", cidr["h2"].Addr().Next().Next().Next().String())
	require.Error(t, err, "endpoint add must be refused while etcd is down: %s", out)
	require.Contains(t, out, "cluster store (etcd) is unavailable")
	require.Contains(t, out, "changes are refused until the store is back")
	require.Equal(t, epsBefore, dumpMap(t, h2, "endpoints"))
	out, err = c.Bed.Run(ctx, "c9", "ip", "-o", "link", "show")
	require.NoError(t, err)
	require.NotContains(t, out, "eth0", "no veth left behind")
	_, err = c.CLI(h1, "node", "list")
	require.ErrorContains(t, err, "unavailable")

	require.NoError(t, c.KillAgent(h3)) // the change made during the outage
	for name, ch := range pings {
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, outagePings, r.st.Received, "c1 -> %s lost echoes while etcd was down", name)
	}
	require.Greater(t, time.Since(down), 2*etcdNodeTTL)
	for _, h := range []*testbed.Host{h1, h2} {
		r := ipcacheRoutes(t, h)
		for _, o := range c.Hosts {
			if o != h {
				require.Equal(t, o.UnderlayIP, r[cidr[o.Name]], "%s kept its route to %s through the outage", h.Name, o.Name)
			}
		}
	}

	// etcd back on the same data: health returns, h3's expiry converges, nothing else flaps.
	recovery := make(chan result, 1)
	go func() {
		st, err := c.Bed.Ping(context.Background(), c1.Name, c2.IP, 100, 100*time.Millisecond)
		recovery <- result{st, err}
	}()
	require.NoError(t, ec.etcd.Start())
	up := time.Now()
	for _, h := range []*testbed.Host{h1, h2} {
		require.Eventually(t, func() bool {
			s := status(t, c, h).Store
			return s.Healthy && s.Registered
		}, 10*time.Second, 100*time.Millisecond, "%s: store healthy and node registered again", h.Name)
	}
	t.Logf("etcd restarted: h1 and h2 healthy and registered after %s", time.Since(up).Round(10*time.Millisecond))
	for _, h := range []*testbed.Host{h1, h2} {
		waitIPCacheRoute(t, h, cidr["h3"], netip.Addr{}, etcdNodeTTL+10*time.Second)
	}
	t.Logf("h3 (killed during the outage) removed from h1 and h2 %s after etcd returned", time.Since(up).Round(10*time.Millisecond))
	r := <-recovery
	require.NoError(t, r.err)
	require.Equal(t, 100, r.st.Received, "c1 -> c2 lost echoes while etcd came back")
	waitIPCacheRoute(t, h1, cidr["h2"], h2.UnderlayIP, time.Second)
	waitIPCacheRoute(t, h2, cidr["h1"], h1.UnderlayIP, time.Second)

	// The refused change goes through now, and h3 comes back with its CIDR.
	c9, err := c.AddContainer(h2, "c9x", cidr["h2"].Addr().Next().Next().Next())
	require.NoError(t, err)
	requirePing(t, c, c1, c9, 3)
	back := time.Now()
	require.NoError(t, ec.startAgent(h3))
	require.Equal(t, cidr["h3"], status(t, c, h3).Node.PodCIDR)
	for _, h := range []*testbed.Host{h1, h2} {
		waitIPCacheRoute(t, h, cidr["h3"], h3.UnderlayIP, 5*time.Second)
	}
	t.Logf("h3 restarted after the outage: routes back after %s", time.Since(back).Round(10*time.Millisecond))
	requirePing(t, c, c1, c3, 3)
	requirePing(t, c, c3, c9, 3)
	require.Equal(t, 3, status(t, c, h1).Nodes)
}

// TestEtcdTLSAgents: agents reach an etcd that requires client certificates with
// --etcd-cacert/--etcd-cert/--etcd-key, learn each other's routes and carry traffic; an agent
// without a client certificate, or trusting another CA, does not start.
func TestEtcdTLSAgents(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, true, false)
	c := ec.Cluster
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	require.Equal(t, "https://"+etcdIP.String()+":2379", ec.etcd.URL())
	refused := func(tlsArgs ...string) string {
		argv := append([]string{binary, "--socket", h3.Socket, "agent", "--underlay-dev", "ul0", "--pin-dir", h3.PinDir,
			"--state-dir", h3.StateDir, "--store", "etcd", "--etcd-endpoints", ec.etcd.URL(), "--node-name", h3.Name}, tlsArgs...)
		out, err := c.Bed.Run(t.Context(), h3.Name, argv...)
		require.Error(t, err, out)
		return out
	}
	certs := ec.certs
	require.Contains(t, refused("--etcd-cacert", certs.CA, "--etcd-key", certs.ClientKey), "give both --etcd-cert and --etcd-key")
	require.Contains(t, refused("--etcd-cacert", certs.CA), "is unavailable at https://172.31.0.254:2379", "no client certificate")
	require.Contains(t, refused("--etcd-cacert", certs.OtherCA, "--etcd-cert", certs.ClientCert, "--etcd-key", certs.ClientKey),
		"is unavailable at https://172.31.0.254:2379", "server certificate from an untrusted CA")

	for _, h := range []*testbed.Host{h1, h2} {
		require.NoError(t, ec.startAgent(h))
	}
	p1, p2 := status(t, c, h1).Node.PodCIDR, status(t, c, h2).Node.PodCIDR
	waitIPCacheRoute(t, h1, p2, h2.UnderlayIP, 5*time.Second)
	waitIPCacheRoute(t, h2, p1, h1.UnderlayIP, 5*time.Second)
	c1, err := c.AddContainer(h1, "c1", p1.Addr().Next().Next())
	require.NoError(t, err)
	c2, err := c.AddContainer(h2, "c2", p2.Addr().Next().Next())
	require.NoError(t, err)
	requirePing(t, c, c1, c2, 3)
	requirePing(t, c, c2, c1, 3)
}

// TestEtcdAgentFlags: store flags are checked before anything is touched.
func TestEtcdAgentFlags(t *testing.T) {
	t.Parallel()
	bed, err := testbed.New(testbed.UniquePrefix("f"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bed.Close()) })
	c, err := testbed.NewCluster(bed, binary, 1)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	h := c.Hosts[0]
	run := func(args ...string) string {
		argv := append([]string{binary, "--socket", h.Socket, "agent", "--underlay-dev", "ul0", "--pin-dir", h.PinDir, "--state-dir", h.StateDir}, args...)
		out, err := bed.Run(t.Context(), h.Name, argv...)
		require.Error(t, err, out)
		return out
	}
	require.Contains(t, run("--store", "etcd"), "--store etcd needs --etcd-endpoints")
	require.Contains(t, run("--store", "zk"), `invalid --store "zk": want local or etcd`)
	require.Contains(t, run("--node-name", "x"), "--node-name needs --store etcd")
	require.Contains(t, run("--store", "etcd", "--etcd-endpoints", "http://172.31.0.254:2379", "--node-name", "a/b"), `invalid node name "a/b"`)
	out := run("--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:1", "--node-name", "h1")
	require.Contains(t, out, "cluster store (etcd) is unavailable at http://127.0.0.1:1")
	_, err = os.Stat(h.PinDir)
	require.ErrorIs(t, err, os.ErrNotExist, "a failed start touches no pins")
}
