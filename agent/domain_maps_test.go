package agent

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/store"
)

// fakeMap is an in-memory BPF map keyed by K that records every write, for the domainMaps
// fakes: tests assert what was deleted and what was never touched.
type fakeMap[K comparable, V any] struct {
	key     func(V) K
	entries map[K]V
	deleted []K
	puts    int
	max     int
}

func newFakeMap[K comparable, V any](key func(V) K, max int, vs ...V) *fakeMap[K, V] {
	m := &fakeMap[K, V]{key: key, entries: map[K]V{}, max: max}
	for _, v := range vs {
		m.entries[key(v)] = v
	}
	return m
}

func (m *fakeMap[K, V]) put(vs ...V) error {
	for _, v := range vs {
		if _, ok := m.entries[m.key(v)]; !ok && len(m.entries) >= m.max {
			return maps.ErrFull
		}
		m.entries[m.key(v)] = v
		m.puts++
	}
	return nil
}

func (m *fakeMap[K, V]) del(k K) error {
	if _, ok := m.entries[k]; !ok {
		return maps.ErrNotFound
	}
	delete(m.entries, k)
	m.deleted = append(m.deleted, k)
	return nil
}

func (m *fakeMap[K, V]) All() ([]V, error) {
	out := make([]V, 0, len(m.entries))
	for _, v := range m.entries {
		out = append(out, v)
	}
	return out, nil
}

type portKey struct {
	hostIP netip.Addr
	port   uint16
	proto  uint8
}

type fakePublished struct {
	*fakeMap[portKey, maps.PortMapping]
}

func (f fakePublished) Put(ms ...maps.PortMapping) error { return f.put(ms...) }
func (f fakePublished) Delete(ip netip.Addr, port uint16, proto uint8) error {
	return f.del(portKey{ip, port, proto})
}
func (f fakePublished) MaxEntries() int { return f.max }

type fakeIPCache struct {
	*fakeMap[netip.Prefix, maps.Route]
}

func (f fakeIPCache) Put(r maps.Route) error          { return f.put(r) }
func (f fakeIPCache) Delete(p netip.Prefix) error     { return f.del(p) }
func (f fakeIPCache) Entry(p netip.Prefix) maps.Route { return f.entries[p] }

func newFakePublished(max int, ms ...maps.PortMapping) fakePublished {
	return fakePublished{newFakeMap(func(m maps.PortMapping) portKey { return portKey{m.HostIP, m.HostPort, m.Proto} }, max, ms...)}
}

func newFakeIPCache(rs ...maps.Route) fakeIPCache {
	return fakeIPCache{newFakeMap(func(r maps.Route) netip.Prefix { return r.Prefix }, 512, rs...)}
}

// testAgent is an agent on a fresh local store and the given map fakes, with no datapath.
func testAgent(t *testing.T, dm domainMaps, eps ...api.Endpoint) *Agent {
	st, err := store.OpenLocal(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, ep := range eps {
		require.NoError(t, st.PutEndpoint(t.Context(), ep))
	}
	return &Agent{store: st, dmaps: dm, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

var (
	web1 = api.Endpoint{Name: "web1", IP: netip.MustParseAddr("10.42.1.5"), HostIfName: "lxc-web1-none",
		Ports: []api.PortMapping{{HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "tcp"}}}
	web2 = api.Endpoint{Name: "web2", IP: netip.MustParseAddr("10.42.1.6"), HostIfName: "lxc-web2-none"}
)

func TestReconcilePublishedSweepsStaleKeepsLive(t *testing.T) {
	live := maps.PortMapping{HostPort: 8080, Proto: api.ProtoTCP, IP: web1.IP, Port: 80}
	stale := maps.PortMapping{HostPort: 9090, Proto: api.ProtoUDP, IP: web2.IP, Port: 53}
	pub := newFakePublished(16, live, stale)
	a := testAgent(t, domainMaps{published: pub}, web1, web2)

	require.NoError(t, a.reconcilePublished(t.Context()))
	require.Equal(t, []portKey{{port: 9090, proto: api.ProtoUDP}}, pub.deleted, "only the stale entry is deleted")
	require.Equal(t, map[portKey]maps.PortMapping{{port: 8080, proto: api.ProtoTCP}: live}, pub.entries)
}

func TestReconcileIPCacheSweepsStaleKeepsLive(t *testing.T) {
	peer := api.Peer{CIDR: netip.MustParsePrefix("10.42.2.0/24"), HostIP: netip.MustParseAddr("172.31.0.2")}
	stale := maps.Route{Prefix: netip.MustParsePrefix("10.42.9.0/24"), TunnelEndpoint: netip.MustParseAddr("172.31.0.9"), Identity: IdentityCluster}
	moved := peerRoute(peer)
	moved.TunnelEndpoint = netip.MustParseAddr("172.31.0.3") // the peer's host changed
	ipc := newFakeIPCache(stale, moved, remoteNodeRoute(peer))
	a := testAgent(t, domainMaps{ipcache: ipc})
	require.NoError(t, a.store.PutPeer(t.Context(), peer))
	a.node.PodCIDR = netip.MustParsePrefix("10.42.1.0/24")

	require.NoError(t, a.reconcileIPCache(t.Context()))
	require.Equal(t, []netip.Prefix{stale.Prefix}, ipc.deleted, "only the stale route is deleted; live ones are rewritten in place")
	require.Len(t, ipc.entries, 3)
	require.Equal(t, peerRoute(peer), ipc.Entry(peer.CIDR), "the moved peer's route is rewritten")
	require.Equal(t, maps.Route{Prefix: a.node.PodCIDR}, ipc.Entry(a.node.PodCIDR), "own pod CIDR: drop, not tunnel")
}

func TestSweepIgnoresGoneEntriesStopsOnErrors(t *testing.T) {
	var tried []int
	del := func(n int) error {
		tried = append(tried, n)
		switch n {
		case 3:
			return maps.ErrNotFound
		case 5:
			return errors.New("map broke")
		}
		return nil
	}
	even := func(n int) bool { return n%2 == 0 }
	err := sweep([]int{1, 2, 3, 4, 5, 7}, even, del)
	require.EqualError(t, err, "map broke")
	require.Equal(t, []int{1, 3, 5}, tried, "wanted entries are never deleted; a gone one is fine; errors stop")
}

// TestPublishRefusalsChangeNothing: every refusal leaves the map and the store as they were.
func TestPublishRefusalsChangeNothing(t *testing.T) {
	live := maps.PortMapping{HostPort: 8080, Proto: api.ProtoTCP, IP: web1.IP, Port: 80}
	for _, tc := range []struct {
		name string
		req  api.PublishRequest
		max  int
		kind error
	}{
		{"conflict", api.PublishRequest{Endpoint: "web2", Spec: "8080:80/tcp"}, 16, api.ErrConflict},
		{"overlapping range", api.PublishRequest{Endpoint: "web2", Spec: "8070-8090:70-90/tcp"}, 64, api.ErrConflict},
		{"full", api.PublishRequest{Endpoint: "web1", Spec: "8080:80/tcp", Replace: true}, 1, api.ErrFull},
		{"unknown endpoint", api.PublishRequest{Endpoint: "db", Spec: "5432:5432/tcp"}, 16, api.ErrNotFound},
		{"malformed", api.PublishRequest{Endpoint: "web2", Spec: "80/sctp"}, 16, api.ErrInvalid},
		{"routing-mesh port", api.PublishRequest{Endpoint: "web2", Spec: "9000-9010:80-90/tcp"}, 64, api.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := newFakePublished(tc.max, live)
			a := testAgent(t, domainMaps{published: pub}, web1, web2)
			require.NoError(t, a.store.CreateService(t.Context(), api.Service{Name: "mesh", VIP: netip.MustParseAddr("10.43.0.10"),
				Port: 80, Proto: "tcp", Selector: "app=web", Publish: 9005}))
			before, err := a.store.Endpoints(t.Context())
			require.NoError(t, err)

			_, err = a.Publish(t.Context(), tc.req)
			require.ErrorIs(t, err, tc.kind)
			require.Zero(t, pub.puts, "nothing written")
			require.Empty(t, pub.deleted, "nothing deleted")
			after, err := a.store.Endpoints(t.Context())
			require.NoError(t, err)
			require.Equal(t, before, after, "the store is unchanged")
		})
	}
}
