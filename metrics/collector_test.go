package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/maps"
)

type fakeDatapath struct {
	counters, policy map[string]maps.Counter
	err              error
}

func (f fakeDatapath) Counters() (map[string]maps.Counter, error)    { return f.counters, f.err }
func (f fakeDatapath) PolicyDrops() (map[string]maps.Counter, error) { return f.policy, f.err }

type fakeStore struct{ healthy bool }

func (f fakeStore) StoreHealth() (string, bool) { return "etcd", f.healthy }

func fakeSources() Sources {
	return Sources{
		Datapath: fakeDatapath{
			counters: map[string]maps.Counter{
				"forward_local": {Packets: 10, Bytes: 980},
				"drop_policy":   {Packets: 3, Bytes: 180},
			},
			policy: map[string]maps.Counter{"0": {Packets: 2, Bytes: 120}, "default": {Packets: 1, Bytes: 60}},
		},
		Walker: WalkerFunc(func() (Snapshot, error) {
			return Snapshot{
				Maps:      []maps.Fill{{Map: "ct", Entries: 4, Capacity: 262144}},
				Conntrack: map[string]int{"snat-out": 1, "snat-in": 1, "policy": 2},
				NATPorts:  map[string]int{"udp": 1},
				Taken:     time.Unix(1700000000, 0), Duration: 20 * time.Millisecond,
			}, nil
		}),
		Store:        fakeStore{healthy: true},
		NATPortRange: 28232,
	}
}

func TestCollector(t *testing.T) {
	want := `
# HELP ebpfnet_conntrack_entries Conntrack/NAT entries by kind (snat-out, snat-in, dnat-reply, policy), from a cached walk.
# TYPE ebpfnet_conntrack_entries gauge
ebpfnet_conntrack_entries{kind="policy"} 2
ebpfnet_conntrack_entries{kind="snat-in"} 1
ebpfnet_conntrack_entries{kind="snat-out"} 1
# HELP ebpfnet_datapath_bytes_total Bytes the datapath handled, by verdict.
# TYPE ebpfnet_datapath_bytes_total counter
ebpfnet_datapath_bytes_total{verdict="forward_local"} 980
# HELP ebpfnet_datapath_drop_bytes_total Bytes the datapath dropped, by drop reason.
# TYPE ebpfnet_datapath_drop_bytes_total counter
ebpfnet_datapath_drop_bytes_total{reason="drop_policy"} 180
# HELP ebpfnet_datapath_drops_total Packets the datapath dropped, by drop reason (drop_policy, drop_spoofed_source, ...).
# TYPE ebpfnet_datapath_drops_total counter
ebpfnet_datapath_drops_total{reason="drop_policy"} 3
# HELP ebpfnet_datapath_packets_total Packets the datapath handled, by verdict (forward_local, forward_encap, arp_reply, to_host, ...).
# TYPE ebpfnet_datapath_packets_total counter
ebpfnet_datapath_packets_total{verdict="forward_local"} 10
# HELP ebpfnet_map_capacity Maximum entries (max_entries) of each keyed BPF map.
# TYPE ebpfnet_map_capacity gauge
ebpfnet_map_capacity{map="ct"} 262144
# HELP ebpfnet_map_entries Entries in each keyed BPF map (hash, LRU, LPM trie), from a cached walk.
# TYPE ebpfnet_map_entries gauge
ebpfnet_map_entries{map="ct"} 4
# HELP ebpfnet_map_walk_duration_seconds Duration of the last walk over the keyed maps (cached between scrapes).
# TYPE ebpfnet_map_walk_duration_seconds gauge
ebpfnet_map_walk_duration_seconds 0.02
# HELP ebpfnet_map_walk_timestamp_seconds Unix time of the last walk over the keyed maps.
# TYPE ebpfnet_map_walk_timestamp_seconds gauge
ebpfnet_map_walk_timestamp_seconds 1.7e+09
# HELP ebpfnet_nat_port_range_size Ports in the masquerade port range, per protocol.
# TYPE ebpfnet_nat_port_range_size gauge
ebpfnet_nat_port_range_size 28232
# HELP ebpfnet_nat_ports_in_use Distinct masquerade source ports (ICMP: echo ids) in use, by protocol, from a cached walk.
# TYPE ebpfnet_nat_ports_in_use gauge
ebpfnet_nat_ports_in_use{protocol="udp"} 1
# HELP ebpfnet_policy_drop_bytes_total Bytes network policy dropped on this host, by deciding rule index.
# TYPE ebpfnet_policy_drop_bytes_total counter
ebpfnet_policy_drop_bytes_total{rule="0"} 120
ebpfnet_policy_drop_bytes_total{rule="default"} 60
# HELP ebpfnet_policy_drops_total Packets network policy dropped on this host, by deciding rule index ("default": the default action). A rule's series appears with its first drop.
# TYPE ebpfnet_policy_drops_total counter
ebpfnet_policy_drops_total{rule="0"} 2
ebpfnet_policy_drops_total{rule="default"} 1
# HELP ebpfnet_store_healthy 1 if the last request to the desired-state store succeeded, else 0, by store kind.
# TYPE ebpfnet_store_healthy gauge
ebpfnet_store_healthy{kind="etcd"} 1
`
	require.NoError(t, testutil.CollectAndCompare(NewCollector(fakeSources()), strings.NewReader(want)))
}

func TestCollectorStoreUnhealthy(t *testing.T) {
	src := fakeSources()
	src.Store = fakeStore{healthy: false}
	want := `
# HELP ebpfnet_store_healthy 1 if the last request to the desired-state store succeeded, else 0, by store kind.
# TYPE ebpfnet_store_healthy gauge
ebpfnet_store_healthy{kind="etcd"} 0
`
	require.NoError(t, testutil.CollectAndCompare(NewCollector(src), strings.NewReader(want), "ebpfnet_store_healthy"))
}

// A failing read fails the scrape with its error instead of reporting zeros.
func TestCollectorReadErrorFailsScrape(t *testing.T) {
	src := fakeSources()
	src.Datapath = fakeDatapath{err: errors.New("metrics read: bad file descriptor")}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(NewCollector(src)))
	_, err := reg.Gather()
	require.ErrorContains(t, err, "bad file descriptor")

	src = fakeSources()
	src.Walker = WalkerFunc(func() (Snapshot, error) { return Snapshot{}, errors.New("ct count: EPERM") })
	reg = prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(NewCollector(src)))
	_, err = reg.Gather()
	require.ErrorContains(t, err, "EPERM")
}

// The collector's metrics pass the registry's consistency checks and the naming linter.
func TestCollectorLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(NewCollector(fakeSources()))
	require.NoError(t, err)
	require.Empty(t, problems)
}
