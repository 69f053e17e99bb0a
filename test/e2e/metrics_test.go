package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// metricsAddr is where every test agent serves /metrics, inside its own host netns.
var metricsAddr = netip.MustParseAddrPort("127.0.0.1:9962")

// scrape is one parsed GET /metrics of an agent.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics fetches h's /metrics from inside h's netns and parses it with the Prometheus
// text parser.
func scrapeMetrics(t *testing.T, c *testbed.Cluster, h *testbed.Host) scrape {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return c.Bed.DialTCP(h.Name, metricsAddr, 5*time.Second)
		},
	}}
	resp, err := client.Get("http://" + metricsAddr.String() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mfs
}

// value returns the value of family name's sample whose labels are exactly labels (name,
// value pairs), or -1 when there is none. Histograms give their sample count.
func (s scrape) value(name string, labels ...string) float64 {
	mf := s[name]
	if mf == nil {
		return -1
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// pinnedKeyedMaps lists the hash, LRU hash and LPM trie maps pinned in h's pin dir, as bpftool
// reports them.
func pinnedKeyedMaps(t *testing.T, h *testbed.Host) []string {
	t.Helper()
	entries, err := os.ReadDir(h.PinDir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := exec.Command("bpftool", "map", "show", "pinned", filepath.Join(h.PinDir, e.Name()), "-j").Output()
		if err != nil {
			continue // a pinned link, not a map
		}
		var info struct{ Type string }
		require.NoError(t, json.Unmarshal(raw, &info))
		switch info.Type {
		case "hash", "lru_hash", "lpm_trie", "percpu_hash", "lru_percpu_hash":
			out = append(out, e.Name())
		}
	}
	require.Contains(t, out, "ct")
	return out
}

// TestMetrics scrapes both agents of a 2-host cluster while real traffic flows: pings move the
// forward counters on the right hosts, a denied flow moves drop_policy and its rule's
// counter by exactly the packets dropped, masqueraded pings show up as conntrack entries and
// NAT ports, map entries follow the endpoints, API calls are timed by route.
func TestMetrics(t *testing.T) {
	c := buildCluster(t, clusterSpec{hosts: 2, outside: true, agentArgs: []string{"--metrics-addr", metricsAddr.String()}})
	h1, h2 := c.Hosts[0], c.Hosts[1]
	web1, err := c.AddContainer(h1, "web1", netip.MustParseAddr("10.42.1.2"), "app=web")
	require.NoError(t, err)
	db1, err := c.AddContainer(h1, "db1", netip.MustParseAddr("10.42.1.3"), "app=db")
	require.NoError(t, err)
	web2, err := c.AddContainer(h2, "web2", netip.MustParseAddr("10.42.2.2"), "app=web")
	require.NoError(t, err)
	ctx := context.Background()
	const n = 5
	pkts := func(s scrape, verdict string) float64 {
		return s.value("ebpfnet_datapath_packets_total", "verdict", verdict)
	}

	// Allowed traffic, same host and across hosts.
	before1, before2 := scrapeMetrics(t, c, h1), scrapeMetrics(t, c, h2)
	ping, err := c.Bed.Ping(ctx, web1.Name, db1.IP, n, 50*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, n, ping.Received)
	ping, err = c.Bed.Ping(ctx, web1.Name, web2.IP, n, 50*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, n, ping.Received)
	after1, after2 := scrapeMetrics(t, c, h1), scrapeMetrics(t, c, h2)
	t.Logf("h1 forward_local %v -> %v, forward_encap %v -> %v; h2 forward_decap %v -> %v",
		pkts(before1, "forward_local"), pkts(after1, "forward_local"), pkts(before1, "forward_encap"),
		pkts(after1, "forward_encap"), pkts(before2, "forward_decap"), pkts(after2, "forward_decap"))
	require.GreaterOrEqual(t, pkts(after1, "forward_local")-pkts(before1, "forward_local"), float64(2*n), "echo requests and replies web1<->db1")
	require.GreaterOrEqual(t, pkts(after1, "forward_encap")-pkts(before1, "forward_encap"), float64(n), "echo requests web1->web2")
	require.GreaterOrEqual(t, pkts(after2, "forward_decap")-pkts(before2, "forward_decap"), float64(n), "echo requests arriving on h2")
	require.GreaterOrEqual(t, pkts(after2, "forward_encap")-pkts(before2, "forward_encap"), float64(n), "echo replies web2->web1")
	require.Greater(t, after1.value("ebpfnet_datapath_bytes_total", "verdict", "forward_encap"),
		before1.value("ebpfnet_datapath_bytes_total", "verdict", "forward_encap"))

	// A denied flow: rule 0 denies web -> db; web1's pings to db1 are dropped at web1's egress.
	out, err := c.CLI(h1, "policy", "deny", "--from", "app=web", "--to", "app=db") // local store: h1 only
	require.NoError(t, err, out)
	before1 = scrapeMetrics(t, c, h1)
	ping, err = c.Bed.Ping(ctx, web1.Name, db1.IP, n, 50*time.Millisecond)
	require.NoError(t, err)
	require.Zero(t, ping.Received)
	after1 = scrapeMetrics(t, c, h1)
	drops := func(s scrape) float64 { return s.value("ebpfnet_datapath_drops_total", "reason", "drop_policy") }
	rule0 := func(s scrape) float64 { return s.value("ebpfnet_policy_drops_total", "rule", "0") }
	t.Logf("h1 drop_policy %v -> %v, rule 0 %v -> %v", drops(before1), drops(after1), rule0(before1), rule0(after1))
	require.Equal(t, float64(n), drops(after1)-drops(before1))
	require.Equal(t, float64(n), rule0(after1)-max(rule0(before1), 0), "rule 0's series appears with its first drop")
	require.Equal(t, float64(0), after1.value("ebpfnet_policy_drops_total", "rule", "default"))
	require.Equal(t, float64(n*98), after1.value("ebpfnet_policy_drop_bytes_total", "rule", "0")-max(before1.value("ebpfnet_policy_drop_bytes_total", "rule", "0"), 0),
		"98-byte frames: Ethernet 14 + IPv4 20 + ICMP 8 + 56 bytes of ping data")

	// Masquerade: pings to the outside machine take a NAT echo id and two conntrack entries.
	ping, err = c.Bed.Ping(ctx, web1.Name, outsideIP, 2, 50*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 2, ping.Received)
	var s scrape
	require.Eventually(t, func() bool { // the map walk is cached for 5 s
		s = scrapeMetrics(t, c, h1)
		return s.value("ebpfnet_nat_ports_in_use", "protocol", "icmp") == 1
	}, 15*time.Second, 200*time.Millisecond)
	require.Equal(t, float64(1), s.value("ebpfnet_conntrack_entries", "kind", "snat-out"))
	require.Equal(t, float64(1), s.value("ebpfnet_conntrack_entries", "kind", "snat-in"))
	require.Equal(t, float64(32767-1024+1), s.value("ebpfnet_nat_port_range_size"), "the default masquerade range: 1024 up to ip_local_port_range's 32768")
	require.Equal(t, float64(2), s.value("ebpfnet_map_entries", "map", "endpoints"))
	require.Equal(t, float64(65536), s.value("ebpfnet_map_capacity", "map", "endpoints"))
	require.Equal(t, float64(262144), s.value("ebpfnet_map_capacity", "map", "ct"))
	require.GreaterOrEqual(t, s.value("ebpfnet_map_entries", "map", "ct"), float64(2))
	require.Equal(t, float64(1), s.value("ebpfnet_map_entries", "map", "peers"))
	require.Equal(t, float64(1), s.value("ebpfnet_store_healthy", "kind", "local"))
	for _, name := range pinnedKeyedMaps(t, h1) {
		require.GreaterOrEqual(t, s.value("ebpfnet_map_entries", "map", name), float64(0), "map %s has no ebpfnet_map_entries", name)
		require.Greater(t, s.value("ebpfnet_map_capacity", "map", name), float64(0), "map %s has no ebpfnet_map_capacity", name)
	}
	require.Equal(t, float64(2), s.value("ebpfnet_api_request_duration_seconds", "route", "POST /v1/endpoints", "code", "201"))
	require.GreaterOrEqual(t, s.value("ebpfnet_api_request_duration_seconds", "route", "GET /v1/status", "code", "200"), float64(1))

	// `ebpfnet status` shows the same fill levels.
	st := status(t, c, h1)
	fills := map[string][2]int{}
	for _, m := range st.Maps {
		fills[m.Map] = [2]int{m.Entries, m.Capacity}
	}
	require.Equal(t, [2]int{2, 65536}, fills["endpoints"])
	out, err = c.CLI(h1, "status")
	require.NoError(t, err)
	require.Contains(t, out, "map endpoints")
	require.Contains(t, out, "2 / 65536 entries (0.0%)")
}

// A metrics address the agent cannot listen on is refused before anything is loaded or pinned.
func TestMetricsBadAddr(t *testing.T) {
	c := buildCluster(t, clusterSpec{hosts: 1, bare: true})
	h := c.Hosts[0]
	for _, addr := range []string{"bogus", "127.0.0.1:99999", "192.0.2.1:9962"} {
		err := c.StartAgent(h, "--metrics-addr", addr)
		require.Error(t, err, addr)
		require.Contains(t, err.Error(), fmt.Sprintf("--metrics-addr %q", addr))
		pinned, _ := os.ReadDir(h.PinDir)
		require.Empty(t, pinned, "%s: the agent pinned something before refusing", addr)
	}
}
