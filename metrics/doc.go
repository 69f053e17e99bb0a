// Package metrics exposes the agent and its datapath to Prometheus: a prometheus.Collector
// that reads the datapath through small interfaces (Datapath, Walker, Store) on each scrape,
// a cache that bounds the cost of walking large maps, and an HTTP middleware timing the
// agent's API. Names follow the Prometheus naming conventions
// (https://prometheus.io/docs/practices/naming/): prefix ebpfnet_, counters end in _total,
// base units (bytes, seconds). README.md lists every metric.
package metrics
