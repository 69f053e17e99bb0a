package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// errOutage is what the etcd store returns while it is unreachable.
var errOutage = fmt.Errorf("ping: %w at http://192.0.2.1:2379: context deadline exceeded", store.ErrUnavailable)

// fakeLease is a Registration whose loss the test triggers.
type fakeLease struct {
	id     int64
	lost   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newFakeLease(id int64) *fakeLease {
	return &fakeLease{id: id, lost: make(chan struct{}), closed: make(chan struct{})}
}

func (l *fakeLease) Lost() <-chan struct{} { return l.lost }
func (l *fakeLease) LeaseID() int64        { return l.id }
func (l *fakeLease) Close()                { l.once.Do(func() { close(l.closed) }) }

// fakeStore is an etcd store in memory: the test sets its errors and sends watch events; the
// store.Store methods membership does not use are left nil (calling one panics).
type fakeStore struct {
	store.Store
	watch chan struct{}

	mu          sync.Mutex
	pingErr     error
	registerErr []error // returned by the next Register calls, in order
	registered  []api.NodeRecord
	leases      []*fakeLease
	published   []api.NodeRecord
	orphanMarks int
	nodesCalls  int
	endpoints   int
}

func newFakeStore() *fakeStore { return &fakeStore{watch: make(chan struct{}, 1), endpoints: 2} }

func (s *fakeStore) NodeName() string              { return "h1" }
func (s *fakeStore) Location() string              { return "etcd://fake/ebpfnet/" }
func (s *fakeStore) RequestTimeout() time.Duration { return time.Second }
func (s *fakeStore) Watch(context.Context) <-chan struct{} {
	return s.watch
}

func (s *fakeStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pingErr
}

func (s *fakeStore) setPingErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingErr = err
}

func (s *fakeStore) Register(_ context.Context, rec api.NodeRecord, _ time.Duration) (Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registered = append(s.registered, rec)
	if len(s.registerErr) > 0 {
		err := s.registerErr[0]
		s.registerErr = s.registerErr[1:]
		return nil, err
	}
	l := newFakeLease(int64(len(s.leases) + 1))
	s.leases = append(s.leases, l)
	return l, nil
}

func (s *fakeStore) lease(i int) *fakeLease {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leases[i]
}

func (s *fakeStore) UpdateNodeRecord(_ context.Context, rec api.NodeRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, rec)
	return s.pingErr
}

func (s *fakeStore) MarkOrphanedCIDRs(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orphanMarks++
	return s.pingErr
}

func (s *fakeStore) Endpoints(context.Context) ([]api.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return make([]api.Endpoint, s.endpoints), s.pingErr
}

func (s *fakeStore) Peers(context.Context) ([]api.Peer, error) { return make([]api.Peer, 1), nil }

func (s *fakeStore) LiveNodes(context.Context) ([]api.NodeRecord, error) {
	return make([]api.NodeRecord, 3), nil
}

func (s *fakeStore) Nodes(context.Context) ([]api.NodeInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodesCalls++
	return []api.NodeInfo{{}}, s.pingErr
}

// counts reads the fake's call counters.
func (s *fakeStore) counts() (registered, orphanMarks, nodesCalls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.registered), s.orphanMarks, s.nodesCalls
}

// fakeAgent counts the agent hooks membership calls.
type fakeAgent struct {
	mu                  sync.Mutex
	resyncs, reconciles int
	resyncErr           error
	underlay            netip.Addr
}

func (a *fakeAgent) NodeRecord() api.NodeRecord {
	return api.NodeRecord{Name: "ignored", UnderlayIP: a.underlay, PodCIDR: netip.MustParsePrefix("10.42.1.0/24")}
}

func (a *fakeAgent) Resync(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resyncs++
	return a.resyncErr
}

func (a *fakeAgent) Reconcile(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reconciles++
	return nil
}

func (a *fakeAgent) calls() (resyncs, reconciles int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resyncs, a.reconciles
}

// joined is a started membership over fakes whose loops probe every millisecond and never
// resync on a timer (so every resync seen comes from a watch event); Leave runs at cleanup.
func joined(t *testing.T, st *fakeStore, ag *fakeAgent) *Cluster {
	t.Helper()
	c := New(st, Config{NodeTTL: DefaultNodeTTL}, ag, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.every = intervals{health: time.Millisecond, probeTimeout: time.Second, resync: time.Hour,
		registerBackoff: time.Millisecond, conflictBackoff: time.Millisecond}
	require.NoError(t, c.Join(context.Background()))
	t.Cleanup(c.Leave)
	return c
}

func status(c *Cluster) api.Status {
	var st api.Status
	c.Status(context.Background(), &st)
	return st
}

const eventually = 5 * time.Second

func TestOutageMarksUnhealthyAndRecovers(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{}
	c := joined(t, st, ag)
	before := status(c)
	require.True(t, before.Store.Healthy)
	require.Equal(t, 2, before.Endpoints)
	require.Equal(t, 1, before.Peers)
	require.Equal(t, 3, before.Nodes)

	st.setPingErr(errOutage)
	require.Eventually(t, func() bool { return !c.Healthy() }, eventually, time.Millisecond, "a failed probe is an outage")
	st.mu.Lock()
	st.endpoints = 5 // changes while down are not seen: the last known counts are reported
	st.mu.Unlock()
	down := status(c)
	require.False(t, down.Store.Healthy)
	require.Contains(t, down.Store.Error, "context deadline exceeded")
	require.Equal(t, 2, down.Endpoints, "last known count while the store is down")
	_, _, nodesBefore := st.counts()
	_, err := c.Nodes(context.Background())
	require.ErrorIs(t, err, api.ErrUnavailable)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, _, nodesAfter := st.counts()
	require.Equal(t, nodesBefore, nodesAfter, "a known outage is answered without asking the store")
	_, reconciles := ag.calls()
	require.Zero(t, reconciles, "nothing is reconciled (so nothing swept) while the store is down")

	_, marksBefore, _ := st.counts()
	st.setPingErr(nil)
	require.Eventually(t, c.Healthy, eventually, time.Millisecond, "a successful probe ends the outage")
	require.Eventually(t, func() bool { _, r := ag.calls(); return r == 1 }, eventually, time.Millisecond,
		"the store coming back reconciles the whole datapath once")
	require.Eventually(t, func() bool { _, m, _ := st.counts(); return m > marksBefore }, eventually, time.Millisecond,
		"and marks orphaned pod CIDRs")
	up := status(c)
	require.True(t, up.Store.Healthy)
	require.Empty(t, up.Store.Error)
	require.Equal(t, 5, up.Endpoints, "counts are read again")
}

func TestWatchEventResyncsAndMarksOrphans(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{}
	c := joined(t, st, ag)
	resyncs, _ := ag.calls()
	require.Zero(t, resyncs)

	st.watch <- struct{}{}
	require.Eventually(t, func() bool { r, _ := ag.calls(); return r == 1 }, eventually, time.Millisecond, "a watch event resyncs")
	require.Eventually(t, func() bool { _, m, _ := st.counts(); return m == 1 }, eventually, time.Millisecond, "and marks orphans")
	require.True(t, c.Healthy())
	resyncs, reconciles := ag.calls()
	require.Equal(t, 1, resyncs, "one event, one resync")
	require.Zero(t, reconciles, "a watch event resyncs ipcache and policy, not the whole datapath")
}

func TestResyncOutageMarksUnhealthy(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{resyncErr: errors.New("decode /ebpfnet/endpoints/h2/x: bad JSON")}
	c := joined(t, st, ag)
	st.watch <- struct{}{}
	require.Eventually(t, func() bool { r, _ := ag.calls(); return r == 1 }, eventually, time.Millisecond)
	require.True(t, c.Healthy(), "a bad record is not an outage")

	ag.mu.Lock()
	ag.resyncErr = fmt.Errorf("list endpoints: %w", errOutage)
	ag.mu.Unlock()
	c.resync(context.Background())
	require.False(t, c.Healthy(), "a resync that cannot reach the store is an outage")
}

func TestLeaseLostRegistersAgain(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{underlay: netip.MustParseAddr("192.0.2.11")}
	c := joined(t, st, ag)
	require.True(t, status(c).Store.Registered)
	st.mu.Lock()
	first := st.registered[0]
	st.registerErr = []error{errOutage, fmt.Errorf("register node h1: %w", store.ErrCIDRTaken)} // then success
	st.mu.Unlock()
	require.Equal(t, "h1", first.Name, "the cluster names the record")
	require.Equal(t, ag.underlay, first.UnderlayIP, "the agent fills the rest")

	close(st.lease(0).lost)
	require.Eventually(t, func() bool { n, _, _ := st.counts(); return n == 4 }, eventually, time.Millisecond,
		"registers again until it succeeds (outage, conflict, success)")
	require.Eventually(t, func() bool { return status(c).Store.Registered }, eventually, time.Millisecond)
	require.Empty(t, status(c).Store.Error)
	require.Equal(t, int64(2), st.lease(1).LeaseID())

	c.Leave()
	select {
	case <-st.lease(1).closed:
	default:
		t.Fatal("Leave does not stop renewing the lease")
	}
}

func TestRegistrationFailureIsReported(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{}
	c := joined(t, st, ag)
	st.mu.Lock()
	st.registerErr = make([]error, 1000)
	for i := range st.registerErr {
		st.registerErr[i] = fmt.Errorf("register node h1: %w", store.ErrCIDRTaken)
	}
	st.mu.Unlock()
	close(st.lease(0).lost)
	require.Eventually(t, func() bool { return !status(c).Store.Registered }, eventually, time.Millisecond)
	require.Contains(t, status(c).Store.Error, "register node h1", "the store is healthy: the registration error is shown")
	require.True(t, c.Healthy())
}

func TestPublishNodeRecord(t *testing.T) {
	st, ag := newFakeStore(), &fakeAgent{underlay: netip.MustParseAddr("192.0.2.12")}
	c := New(st, Config{}, ag, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, c.PublishNodeRecord(context.Background()))
	require.Equal(t, []api.NodeRecord{{Name: "h1", UnderlayIP: ag.underlay, PodCIDR: netip.MustParsePrefix("10.42.1.0/24")}}, st.published)
}

func TestOpenRejectsBadConfig(t *testing.T) {
	node := api.Node{Cluster: netip.MustParsePrefix("10.42.0.0/16")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	etcd := Config{Kind: api.StoreEtcd, NodeTTL: DefaultNodeTTL, PodCIDRSize: DefaultPodCIDRSize,
		Etcd: store.EtcdConfig{Endpoints: []string{"http://192.0.2.1:2379"}, NodeName: "h1"}}
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"unknown kind":     {func(c *Config) { c.Kind = "consul" }, `unknown store "consul": want local or etcd`},
		"TTL under 1s":     {func(c *Config) { c.NodeTTL = 500 * time.Millisecond }, "node TTL 500ms: want at least 1s"},
		"CIDR wider":       {func(c *Config) { c.PodCIDRSize = 8 }, "pod CIDR size /8: want /16 (the cluster CIDR) to /30"},
		"CIDR under a /30": {func(c *Config) { c.PodCIDRSize = 31 }, "pod CIDR size /31"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, n := etcd, node
			tc.mut(&cfg)
			st, _, c, err := Open(context.Background(), cfg, t.TempDir(), &n, &fakeAgent{}, log)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, st)
			require.Nil(t, c)
			require.Equal(t, node, n, "the node is left as it was")
		})
	}
}
