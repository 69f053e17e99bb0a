package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// shared is one etcd on 127.0.0.1 for the tests that only need a working server; each test
// uses its own key prefix, so they run in parallel.
var shared struct {
	once sync.Once
	etcd *testbed.Etcd
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.etcd != nil {
		if err := shared.etcd.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "stop etcd:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// needEtcd skips without an etcd binary, except in CI (CI=true), where it fails.
func needEtcd(t *testing.T) {
	t.Helper()
	if _, err := testbed.EtcdBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// sharedEtcd returns the shared server, starting it on first use.
func sharedEtcd(t *testing.T) *testbed.Etcd {
	t.Helper()
	needEtcd(t)
	shared.once.Do(func() { shared.etcd, shared.err = testbed.StartEtcd(testbed.EtcdOptions{}) })
	require.NoError(t, shared.err)
	return shared.etcd
}

// ownEtcd starts a server only this test uses (to stop and restart it).
func ownEtcd(t *testing.T, opts testbed.EtcdOptions) *testbed.Etcd {
	t.Helper()
	needEtcd(t)
	e, err := testbed.StartEtcd(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("etcd log:\n%s", e.Log())
		}
		require.NoError(t, e.Close())
	})
	return e
}

// testPrefix is a key prefix unique to the test.
func testPrefix(t *testing.T) string {
	return fmt.Sprintf("/test-%d-%s/", rand.Uint64(), t.Name())
}

// openNode opens the store of node name under prefix; closed at cleanup.
func openNode(t *testing.T, e *testbed.Etcd, prefix, name string) *Etcd {
	t.Helper()
	s, err := OpenEtcd(EtcdConfig{Endpoints: []string{e.URL()}, Prefix: prefix, NodeName: name, RequestTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

var cluster16 = netip.MustParsePrefix("10.42.0.0/16")

// join allocates a /24 for s and registers it with ttl and underlay IP 172.31.0.<n>.
func join(t *testing.T, s *Etcd, n byte, ttl time.Duration) (api.NodeRecord, *Registration) {
	t.Helper()
	ctx := t.Context()
	cidr, err := s.AllocatePodCIDR(ctx, cluster16, 24, time.Minute)
	require.NoError(t, err)
	ip := netip.AddrFrom4([4]byte{172, 31, 0, n})
	rec := api.NodeRecord{Name: s.NodeName(), UnderlayIP: ip, PodCIDR: cidr, VTEPMAC: fmt.Sprintf("0e:00:ac:1f:00:%02x", n)}
	reg, err := s.Register(ctx, rec, ttl)
	require.NoError(t, err)
	t.Cleanup(reg.Close)
	return rec, reg
}

// peerCIDRs returns the CIDRs s routes to other nodes.
func peerCIDRs(t *testing.T, s *Etcd) []string {
	t.Helper()
	ps, err := s.Peers(t.Context())
	require.NoError(t, err)
	out := []string{}
	for _, p := range ps {
		out = append(out, p.CIDR.String()+"@"+p.HostIP.String())
	}
	return out
}

func TestEtcdEndpointsAndPeersPerNode(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	n1, n2 := openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2")

	ep := api.Endpoint{Name: "web1", Netns: "/run/netns/c1", IP: netip.MustParseAddr("10.42.0.2"), Labels: map[string]string{"app": "web"}}
	require.NoError(t, n1.PutEndpoint(t.Context(), ep))
	eps, err := n1.Endpoints(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.Endpoint{ep}, eps)
	eps, err = n2.Endpoints(t.Context())
	require.NoError(t, err)
	require.Empty(t, eps, "n2 must not see n1's endpoints")
	require.ErrorIs(t, n2.DeleteEndpoint(t.Context(), "web1"), ErrNotFound)

	r1, _ := join(t, n1, 1, 5*time.Second)
	r2, _ := join(t, n2, 2, 5*time.Second)
	require.NotEqual(t, r1.PodCIDR, r2.PodCIDR)
	static := api.Peer{CIDR: netip.MustParsePrefix("10.42.200.0/24"), HostIP: netip.MustParseAddr("172.31.0.99")}
	require.NoError(t, n1.PutPeer(t.Context(), static))
	require.Equal(t, []string{r2.PodCIDR.String() + "@172.31.0.2", "10.42.200.0/24@172.31.0.99"}, peerCIDRs(t, n1))
	require.Equal(t, []string{r1.PodCIDR.String() + "@172.31.0.1"}, peerCIDRs(t, n2), "static peers are per node")

	nodes, err := n2.Nodes(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	require.Equal(t, r1, nodes[0].NodeRecord)
	require.True(t, nodes[0].LeaseHealthy)
	require.InDelta(t, 5, nodes[0].LeaseTTL, 2)
	require.True(t, nodes[1].Self)

	require.NoError(t, n1.DeletePeer(t.Context(), static.CIDR))
	require.ErrorIs(t, n1.DeletePeer(t.Context(), static.CIDR), ErrNotFound)
	require.ErrorIs(t, n1.DeletePeer(t.Context(), r2.PodCIDR), ErrNotFound, "another node's pod CIDR is not a static peer")
	require.NoError(t, n1.DeleteEndpoint(t.Context(), "web1"))
	require.ErrorIs(t, n1.DeleteEndpoint(t.Context(), "web1"), ErrNotFound)
}

// TestEtcdNodeLeaseExpiry: a registered node stays while its lease is renewed (for several
// TTLs) and disappears from the others' peers, with a watch event, once renewal stops.
// TestEtcdCallerContext checks that a store call runs under the caller's ctx: with ctx
// cancelled, a write fails as ErrUnavailable and stores nothing, a read fails too.
func TestEtcdCallerContext(t *testing.T) {
	t.Parallel()
	s := openNode(t, sharedEtcd(t), testPrefix(t), "n1")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	ep := api.Endpoint{Name: "web1", Netns: "/run/netns/c1", IP: netip.MustParseAddr("10.42.0.2")}
	require.ErrorIs(t, s.PutEndpoint(cancelled, ep), ErrUnavailable)
	_, err := s.Endpoints(cancelled)
	require.ErrorIs(t, err, ErrUnavailable)
	eps, err := s.Endpoints(t.Context())
	require.NoError(t, err)
	require.Empty(t, eps, "the cancelled write stored nothing")
}

func TestEtcdNodeLeaseExpiry(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	n1, n2 := openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2")
	watch := n2.Watch(t.Context())
	<-watch // established
	r1, reg := join(t, n1, 1, time.Second)
	select {
	case <-watch:
	case <-time.After(2 * time.Second):
		t.Fatal("no watch event for the registration")
	}
	time.Sleep(3 * time.Second) // three TTLs: only the keep-alive keeps it
	require.Equal(t, []string{r1.PodCIDR.String() + "@172.31.0.1"}, peerCIDRs(t, n2))

	reg.Close() // stop renewing, as a killed agent does
	start := time.Now()
	require.Eventually(t, func() bool { return len(peerCIDRs(t, n2)) == 0 }, 5*time.Second, 50*time.Millisecond,
		"n1 must disappear when its lease expires")
	t.Logf("node gone %s after its keep-alive stopped (TTL 1s)", time.Since(start).Round(10*time.Millisecond))
	select {
	case <-watch:
	default:
		t.Fatal("no watch event for the expiry")
	}
	nodes, err := n2.Nodes(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.NodeInfo{{NodeRecord: api.NodeRecord{Name: "n1", PodCIDR: r1.PodCIDR}}}, nodes,
		"n1 still holds its CIDR, without a lease")
}

// TestEtcdCIDRConcurrentUnique: 10 nodes allocating at once get 10 different /24s of the
// cluster CIDR, each recorded for its node; with only 4 subnets, 4 of 12 succeed and the rest
// get ErrCIDRTaken.
func TestEtcdCIDRConcurrentUnique(t *testing.T) {
	t.Parallel()
	e := sharedEtcd(t)
	run := func(prefix string, cluster netip.Prefix, n int) (map[string]netip.Prefix, []error) {
		stores := make([]*Etcd, n)
		for i := range stores {
			stores[i] = openNode(t, e, prefix, fmt.Sprintf("n%d", i))
		}
		got, errs := make([]netip.Prefix, n), make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				<-start
				got[i], errs[i] = s.AllocatePodCIDR(context.Background(), cluster, 24, time.Minute)
			})
		}
		close(start)
		wg.Wait()
		out := map[string]netip.Prefix{}
		var failed []error
		for i := range stores {
			if errs[i] != nil {
				failed = append(failed, errs[i])
				continue
			}
			out[stores[i].NodeName()] = got[i]
		}
		return out, failed
	}

	prefix := testPrefix(t)
	got, failed := run(prefix, cluster16, 10)
	require.Empty(t, failed)
	seen := map[netip.Prefix]string{}
	for node, p := range got {
		require.True(t, cluster16.Contains(p.Addr()) && p.Bits() == 24, "%s got %s", node, p)
		require.NotContains(t, seen, p, "%s and %s both got %s", node, seen[p], p)
		seen[p] = node
	}
	// The records in etcd say the same.
	check := openNode(t, e, prefix, "check")
	snap, err := check.snapshot(t.Context())
	require.NoError(t, err)
	require.Len(t, snap.records, 10)
	for p, rec := range snap.records {
		require.Equal(t, seen[p], rec.rec.Node)
	}

	got, failed = run(testPrefix(t), netip.MustParsePrefix("10.42.0.0/22"), 12)
	require.Len(t, got, 4)
	require.Len(t, failed, 8)
	for _, err := range failed {
		require.ErrorIs(t, err, ErrCIDRTaken)
	}
	distinct := map[netip.Prefix]bool{}
	for _, p := range got {
		distinct[p] = true
	}
	require.Len(t, distinct, 4, "the 4 subnets of the /22, each once")
}

// TestEtcdCIDRSameAfterReRegistration: a node that crashed and whose lease expired gets its
// CIDR back when it returns, even after others allocated and marked it orphaned; the
// orphan mark is cleared.
func TestEtcdCIDRSameAfterReRegistration(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	n1 := openNode(t, e, prefix, "n1")
	r1, reg := join(t, n1, 1, time.Second)
	reg.Close()
	require.NoError(t, n1.Close()) // the agent crashed

	n2 := openNode(t, e, prefix, "n2")
	require.Eventually(t, func() bool { return len(peerCIDRs(t, n2)) == 0 }, 5*time.Second, 50*time.Millisecond)
	require.NoError(t, n2.MarkOrphanedCIDRs(t.Context()))
	r2, _ := join(t, n2, 2, 5*time.Second)
	require.NotEqual(t, r1.PodCIDR, r2.PodCIDR, "the orphaned CIDR is held during the grace period")
	snap, err := n2.snapshot(t.Context())
	require.NoError(t, err)
	require.False(t, snap.records[r1.PodCIDR].rec.OrphanedAt.IsZero(), "n1's CIDR is marked orphaned")

	n1 = openNode(t, e, prefix, "n1") // restarted
	again, _ := join(t, n1, 1, 5*time.Second)
	require.Equal(t, r1.PodCIDR, again.PodCIDR, "same CIDR after re-registration")
	snap, err = n2.snapshot(t.Context())
	require.NoError(t, err)
	require.Equal(t, cidrRecord{Node: "n1"}, snap.records[r1.PodCIDR].rec, "orphan mark cleared")
	require.Equal(t, []string{r1.PodCIDR.String() + "@172.31.0.1"}, peerCIDRs(t, n2))
}

// TestEtcdCIDRGracePeriod: with 2 subnets, a third node can only have the CIDR of a node that
// left once the grace period has passed since it was first seen gone; then the old owner
// cannot register with it any more.
func TestEtcdCIDRGracePeriod(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	ctx := t.Context()
	small := netip.MustParsePrefix("10.42.0.0/23")
	const grace = 2 * time.Second
	n1, n2, n3 := openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2"), openNode(t, e, prefix, "n3")
	a, err := n1.AllocatePodCIDR(ctx, small, 24, grace)
	require.NoError(t, err)
	rec1 := api.NodeRecord{Name: "n1", UnderlayIP: netip.MustParseAddr("172.31.0.1"), PodCIDR: a, VTEPMAC: "0e:00:ac:1f:00:01"}
	reg, err := n1.Register(ctx, rec1, time.Second)
	require.NoError(t, err)
	b, err := n2.AllocatePodCIDR(ctx, small, 24, grace)
	require.NoError(t, err)
	reg2, err := n2.Register(ctx, api.NodeRecord{Name: "n2", UnderlayIP: netip.MustParseAddr("172.31.0.2"), PodCIDR: b, VTEPMAC: "0e:00:ac:1f:00:02"}, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(reg2.Close)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.42.0.0/24"), netip.MustParsePrefix("10.42.1.0/24")}, []netip.Prefix{a, b})

	_, err = n3.AllocatePodCIDR(ctx, small, 24, grace)
	require.ErrorIs(t, err, ErrCIDRTaken, "n1 is live")

	reg.Close()
	require.Eventually(t, func() bool { return len(peerCIDRs(t, n2)) == 0 }, 5*time.Second, 50*time.Millisecond)
	left := time.Now()
	_, err = n3.AllocatePodCIDR(ctx, small, 24, grace) // first sighting: starts the grace period
	require.ErrorIs(t, err, ErrCIDRTaken)
	require.Contains(t, err.Error(), "1 of them held for the grace period 2s")
	time.Sleep(grace / 2)
	_, err = n3.AllocatePodCIDR(ctx, small, 24, grace)
	require.ErrorIs(t, err, ErrCIDRTaken, "still within the grace period")
	require.ErrorIs(t, n3.ClaimPodCIDR(ctx, a, grace), ErrCIDRTaken)

	require.Eventually(t, func() bool {
		got, err := n3.AllocatePodCIDR(ctx, small, 24, grace)
		return err == nil && got == a
	}, 3*time.Second, 100*time.Millisecond, "n1's CIDR becomes reusable after the grace period")
	require.GreaterOrEqual(t, time.Since(left), grace)

	_, err = n1.Register(ctx, rec1, time.Second)
	require.ErrorIs(t, err, ErrCIDRTaken, "n1 lost its CIDR to n3")
	_, err = n1.AllocatePodCIDR(ctx, small, 24, grace)
	require.ErrorIs(t, err, ErrCIDRTaken, "no subnet left for n1")
}

// TestEtcdClaimPodCIDR: a given --pod-cidr is recorded; another node can claim neither it nor
// an overlapping one, and allocation skips it.
func TestEtcdClaimPodCIDR(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	ctx := t.Context()
	n1, n2 := openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2")
	claimed := netip.MustParsePrefix("10.42.0.0/24")
	require.NoError(t, n1.ClaimPodCIDR(ctx, claimed, time.Minute))
	require.NoError(t, n1.ClaimPodCIDR(ctx, claimed, time.Minute), "idempotent for the owner")
	err := n2.ClaimPodCIDR(ctx, claimed, time.Minute)
	require.ErrorIs(t, err, ErrCIDRTaken)
	require.Contains(t, err.Error(), "allocated to node n1")
	err = n2.ClaimPodCIDR(ctx, netip.MustParsePrefix("10.42.0.128/25"), time.Minute)
	require.ErrorIs(t, err, ErrCIDRTaken)
	require.Contains(t, err.Error(), "overlaps 10.42.0.0/24 of node n1")
	got, err := n2.AllocatePodCIDR(ctx, cluster16, 24, time.Minute)
	require.NoError(t, err)
	require.Equal(t, netip.MustParsePrefix("10.42.1.0/24"), got)
	// n1 moves to another CIDR: the old one is released.
	require.NoError(t, n1.ClaimPodCIDR(ctx, netip.MustParsePrefix("10.42.7.0/24"), time.Minute))
	require.NoError(t, n2.ClaimPodCIDR(ctx, claimed, time.Minute))
}

// TestEtcdRegisterNameTaken: a second live node with the same name and another underlay IP is
// refused; the same host restarting takes its key over with a new lease.
func TestEtcdRegisterNameTaken(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	ctx := t.Context()
	first := openNode(t, e, prefix, "n1")
	rec, reg := join(t, first, 1, 5*time.Second)
	imposter := openNode(t, e, prefix, "n1")
	other := rec
	other.UnderlayIP = netip.MustParseAddr("172.31.0.77")
	_, err := imposter.Register(ctx, other, 5*time.Second)
	require.ErrorIs(t, err, ErrNodeNameTaken)
	require.Contains(t, err.Error(), "registered with underlay IP 172.31.0.1")

	again, err := imposter.Register(ctx, rec, 5*time.Second) // same host, restarted agent
	require.NoError(t, err)
	t.Cleanup(again.Close)
	require.NotEqual(t, reg.LeaseID(), again.LeaseID())
	select {
	case <-reg.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced lease was not revoked")
	}
	nodes, err := first.LiveNodes(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.NodeRecord{rec}, nodes)
}

// TestEtcdIdentityAtomicShared: 8 nodes allocating identities for 20 label sets at once, in
// different orders, agree on every identity, and the identities are 20 distinct consecutive
// numbers from FirstIdentity.
func TestEtcdIdentityAtomicShared(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	const nodes, sets = 8, 20
	got := make([]map[string]uint32, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		s := openNode(t, e, prefix, fmt.Sprintf("n%d", i))
		got[i] = map[string]uint32{}
		wg.Go(func() {
			for _, k := range rand.Perm(sets) {
				id, err := s.Identity(t.Context(), fmt.Sprintf("app=svc%d", k))
				if err != nil {
					t.Error(err)
					return
				}
				got[i][fmt.Sprintf("app=svc%d", k)] = id
			}
		})
	}
	wg.Wait()
	ids := map[uint32]string{}
	for k, id := range got[0] {
		require.NotContains(t, ids, id, "identity %d given to %q and %q", id, ids[id], k)
		ids[id] = k
		require.GreaterOrEqual(t, id, uint32(FirstIdentity))
		require.Less(t, id, uint32(FirstIdentity+sets))
	}
	require.Len(t, ids, sets)
	for i := 1; i < nodes; i++ {
		require.Equal(t, got[0], got[i], "node %d disagrees", i)
	}
	again, err := openNode(t, e, prefix, "late").Identity(t.Context(), "app=svc3")
	require.NoError(t, err)
	require.Equal(t, got[0]["app=svc3"], again, "stable for a node that joins later")
}

// TestEtcdOutage: with etcd down every request fails with ErrUnavailable within the request
// timeout and the lease is reported lost; after a restart on the same data, data is intact
// and the node registers again.
func TestEtcdOutage(t *testing.T) {
	t.Parallel()
	e := ownEtcd(t, testbed.EtcdOptions{})
	prefix := testPrefix(t)
	s := openNode(t, e, prefix, "n1")
	ep := api.Endpoint{Name: "web1", Netns: "/run/netns/c1", IP: netip.MustParseAddr("10.42.0.2")}
	require.NoError(t, s.PutEndpoint(t.Context(), ep))
	rec, reg := join(t, s, 1, time.Second)

	require.NoError(t, e.Kill())
	start := time.Now()
	_, err := s.Endpoints(t.Context())
	require.ErrorIs(t, err, ErrUnavailable)
	require.Less(t, time.Since(start), 4*time.Second, "bounded by the request timeout")
	t.Logf("Endpoints() with etcd down: %v (after %s)", err, time.Since(start).Round(10*time.Millisecond))
	_, err = s.Peers(t.Context())
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, s.PutEndpoint(t.Context(), ep), ErrUnavailable)
	_, err = s.Identity(t.Context(), "app=x")
	require.ErrorIs(t, err, ErrUnavailable)
	select {
	case <-reg.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("lease not reported lost while etcd is down")
	}

	require.NoError(t, e.Start())
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 10*time.Second, 100*time.Millisecond)
	eps, err := s.Endpoints(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.Endpoint{ep}, eps)
	reg2, err := s.Register(t.Context(), rec, time.Second)
	require.NoError(t, err)
	t.Cleanup(reg2.Close)
	nodes, err := s.LiveNodes(t.Context())
	require.NoError(t, err)
	require.Equal(t, []api.NodeRecord{rec}, nodes)
}

// TestEtcdTLS: with client-cert auth, a client with the CA and its certificate connects; one
// without a certificate, or trusting another CA, is refused.
func TestEtcdTLS(t *testing.T) {
	t.Parallel()
	certs, err := testbed.WriteTLSCerts(t.TempDir())
	require.NoError(t, err)
	e := ownEtcd(t, testbed.EtcdOptions{TLS: certs})
	require.Contains(t, e.URL(), "https://127.0.0.1:")
	cfg := EtcdConfig{Endpoints: []string{e.URL()}, NodeName: "n1", Prefix: testPrefix(t),
		CACert: certs.CA, Cert: certs.ClientCert, Key: certs.ClientKey, DialTimeout: 2 * time.Second}
	s, err := OpenEtcd(cfg)
	require.NoError(t, err)
	id, err := s.Identity(t.Context(), "app=tls")
	require.NoError(t, err)
	require.Equal(t, uint32(FirstIdentity), id)
	require.NoError(t, s.Close())

	noCert := cfg
	noCert.Cert, noCert.Key = "", ""
	_, err = OpenEtcd(noCert)
	require.Error(t, err, "client certificate required")
	wrongCA := cfg
	wrongCA.CACert = certs.OtherCA
	_, err = OpenEtcd(wrongCA)
	require.Error(t, err, "server certificate from an untrusted CA")
	half := cfg
	half.Key = ""
	_, err = OpenEtcd(half)
	require.ErrorContains(t, err, "give both --etcd-cert and --etcd-key")
}

func TestEtcdConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := OpenEtcd(EtcdConfig{NodeName: "n1"})
	require.ErrorContains(t, err, "no endpoints")
	_, err = OpenEtcd(EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}, NodeName: "a/b"})
	require.ErrorContains(t, err, `invalid node name "a/b"`)
	_, err = OpenEtcd(EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}, NodeName: "n1", Prefix: "x"})
	require.ErrorContains(t, err, "invalid etcd prefix")
	start := time.Now()
	_, err = OpenEtcd(EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}, NodeName: "n1", DialTimeout: time.Second})
	require.ErrorIs(t, err, ErrUnavailable, "nothing listens on port 1")
	require.Less(t, time.Since(start), 3*time.Second)
}
