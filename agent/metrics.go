package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/metrics"
)

// mapWalkTTL is how long a walk over the maps serves scrapes and `ebpfnet status`: a walk of a
// full 262,144-entry ct map took 65-165 ms on a loaded 2-core machine (TestFillsFullCT), so
// at most about 3% of a core however often /metrics and status are asked.
const mapWalkTTL = 5 * time.Second

// agentMetrics is the agent's Prometheus state: the cached map walk (used by Status too), and
// with --metrics-addr the registry, the API histogram and the /metrics listener.
type agentMetrics struct {
	walker   *metrics.CachedWalker
	registry *prometheus.Registry     // nil: metrics off
	api      *prometheus.HistogramVec // API request durations
	ln       net.Listener
}

// startMetrics prepares the map walk and, with cfg.MetricsAddr, binds the metrics listener.
func (a *Agent) startMetrics() error {
	a.metrics.walker = metrics.NewCachedWalker(metrics.WalkerFunc(a.walkMaps), mapWalkTTL)
	if a.cfg.MetricsAddr == "" {
		return nil
	}
	a.metrics.api = metrics.APIDuration()
	var err error
	a.metrics.registry, err = metrics.NewRegistry(a.metrics.api, metrics.NewCollector(metrics.Sources{
		Datapath: metricsSource{a}, Walker: a.metrics.walker, Store: metricsSource{a},
		NATPortRange: int(a.cfg.NATPorts[1]) - int(a.cfg.NATPorts[0]) + 1,
	}))
	if err != nil {
		return err
	}
	if a.metrics.ln, err = net.Listen("tcp", a.cfg.MetricsAddr); err != nil {
		return fmt.Errorf("--metrics-addr %q: %w", a.cfg.MetricsAddr, err)
	}
	return nil
}

// RegisterCollector adds c to the agent's /metrics (e.g. WireGuard peer statistics). Without
// --metrics-addr it does nothing. Errors: metrics clashing with registered ones.
func (a *Agent) RegisterCollector(c prometheus.Collector) error {
	if a.metrics.registry == nil {
		return nil
	}
	return a.metrics.registry.Register(c)
}

// instrumentAPI times the API's requests when metrics are on.
func (a *Agent) instrumentAPI(h http.Handler) http.Handler {
	if a.metrics.api == nil {
		return h
	}
	return metrics.InstrumentAPI(a.metrics.api, h)
}

// serveMetrics serves GET /metrics until ctx is done (nothing without --metrics-addr).
func (a *Agent) serveMetrics(ctx context.Context) {
	if a.metrics.ln == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(a.metrics.registry))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(a.metrics.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("serve metrics", "err", err)
	}
}

// walkMaps counts every keyed map's entries and summarises the conntrack map.
func (a *Agent) walkMaps() (metrics.Snapshot, error) {
	ct, err := a.maps.CT.Summary()
	if err != nil {
		return metrics.Snapshot{}, err
	}
	fills, err := a.maps.Fills(map[string]int{"ct": ct.Entries}) // ct walked once
	if err != nil {
		return metrics.Snapshot{}, err
	}
	s := metrics.Snapshot{Maps: fills, Conntrack: map[string]int{}, NATPorts: map[string]int{}}
	for kind, n := range ct.ByKind {
		s.Conntrack[kind.String()] = n
	}
	for proto, n := range ct.NATPorts {
		s.NATPorts[api.ProtoName(proto)] = n
	}
	return s, nil
}

// mapFills is the map fill levels of `ebpfnet status`, from the cached walk.
func (a *Agent) mapFills() ([]api.MapFill, error) {
	s, err := a.metrics.walker.Walk()
	if err != nil {
		return nil, err
	}
	out := make([]api.MapFill, 0, len(s.Maps))
	for _, f := range s.Maps {
		out = append(out, api.MapFill{Map: f.Map, Entries: f.Entries, Capacity: f.Capacity})
	}
	return out, nil
}

// metricsSource lets the metrics collector read the agent's datapath and store health.
type metricsSource struct{ a *Agent }

// Counters returns the datapath counters by maps.MetricName.
func (s metricsSource) Counters() (map[string]maps.Counter, error) {
	counters, err := s.a.maps.Metrics.Read()
	if err != nil {
		return nil, err
	}
	out := make(map[string]maps.Counter, len(counters))
	for m, c := range counters {
		out[maps.MetricName(m)] = c
	}
	return out, nil
}

// PolicyDrops returns the policy drop counters of rules that dropped, and the default action's.
func (s metricsSource) PolicyDrops() (map[string]maps.Counter, error) {
	slots, err := s.a.maps.PolicyDrops.All()
	if err != nil {
		return nil, err
	}
	def := s.a.maps.PolicyDrops.DefaultRuleSlot()
	out := map[string]maps.Counter{"default": slots[def]}
	for i, c := range slots[:def] {
		if c.Packets > 0 {
			out[strconv.Itoa(i)] = c
		}
	}
	return out, nil
}

// StoreHealth reports the store kind and its last known health, without waiting on it.
func (s metricsSource) StoreHealth() (string, bool) {
	if s.a.cl == nil {
		return api.StoreLocal, true
	}
	return api.StoreEtcd, s.a.cl.Healthy()
}
