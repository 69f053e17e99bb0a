package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebpfnet/ebpfnet/maps"
)

// Datapath reads the datapath's counters; cheap enough (a few thousand map lookups) to read
// on every scrape.
type Datapath interface {
	// Counters returns the packet and byte counters by name (maps.MetricName: forward_local,
	// drop_policy, ...), summed over CPUs.
	Counters() (map[string]maps.Counter, error)
	// PolicyDrops returns the policy drop counters by deciding rule: the rule index as a
	// decimal string, or "default" for the default action.
	PolicyDrops() (map[string]maps.Counter, error)
}

// Store reports the health of the agent's desired-state store.
type Store interface {
	// StoreHealth returns the store kind ("local" or "etcd") and whether its last request
	// succeeded. It must not block on an unreachable store.
	StoreHealth() (kind string, healthy bool)
}

// Sources are what a Collector reads. Datapath and Walker are required; Store is optional.
type Sources struct {
	Datapath     Datapath
	Walker       Walker // wrap it in a CachedWalker: every scrape calls it
	Store        Store
	NATPortRange int // ports in the masquerade range (--nat-port-range), per protocol
}

// Collector is the prometheus.Collector of the datapath and the store. Per scrape it reads
// the counters (one lookup per verdict/drop reason and per policy rule slot) and calls the
// Walker once; a read error is reported as an invalid metric of that family (the scrape then
// fails with HTTP 500 and the error), never as zeros.
type Collector struct {
	src Sources
}

// NewCollector returns a Collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

var (
	descPackets = prometheus.NewDesc("ebpfnet_datapath_packets_total",
		"Packets the datapath handled, by verdict (forward_local, forward_encap, arp_reply, to_host, ...).",
		[]string{"verdict"}, nil)
	descBytes = prometheus.NewDesc("ebpfnet_datapath_bytes_total",
		"Bytes the datapath handled, by verdict.", []string{"verdict"}, nil)
	descDrops = prometheus.NewDesc("ebpfnet_datapath_drops_total",
		"Packets the datapath dropped, by drop reason (drop_policy, drop_spoofed_source, ...).",
		[]string{"reason"}, nil)
	descDropBytes = prometheus.NewDesc("ebpfnet_datapath_drop_bytes_total",
		"Bytes the datapath dropped, by drop reason.", []string{"reason"}, nil)
	descPolicyDrops = prometheus.NewDesc("ebpfnet_policy_drops_total",
		"Packets network policy dropped on this host, by deciding rule index (\"default\": the default action). A rule's series appears with its first drop.",
		[]string{"rule"}, nil)
	descPolicyDropBytes = prometheus.NewDesc("ebpfnet_policy_drop_bytes_total",
		"Bytes network policy dropped on this host, by deciding rule index.", []string{"rule"}, nil)
	descMapEntries = prometheus.NewDesc("ebpfnet_map_entries",
		"Entries in each keyed BPF map (hash, LRU, LPM trie), from a cached walk.", []string{"map"}, nil)
	descMapCapacity = prometheus.NewDesc("ebpfnet_map_capacity",
		"Maximum entries (max_entries) of each keyed BPF map.", []string{"map"}, nil)
	descConntrack = prometheus.NewDesc("ebpfnet_conntrack_entries",
		"Conntrack/NAT entries by kind (snat-out, snat-in, dnat-reply, policy), from a cached walk.",
		[]string{"kind"}, nil)
	descNATPorts = prometheus.NewDesc("ebpfnet_nat_ports_in_use",
		"Distinct masquerade source ports (ICMP: echo ids) in use, by protocol, from a cached walk.",
		[]string{"protocol"}, nil)
	descNATRange = prometheus.NewDesc("ebpfnet_nat_port_range_size",
		"Ports in the masquerade port range, per protocol.", nil, nil)
	descWalk = prometheus.NewDesc("ebpfnet_map_walk_duration_seconds",
		"Duration of the last walk over the keyed maps (cached between scrapes).", nil, nil)
	descWalkAge = prometheus.NewDesc("ebpfnet_map_walk_timestamp_seconds",
		"Unix time of the last walk over the keyed maps.", nil, nil)
	descStore = prometheus.NewDesc("ebpfnet_store_healthy",
		"1 if the last request to the desired-state store succeeded, else 0, by store kind.",
		[]string{"kind"}, nil)
)

// Describe sends every metric description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descBytes, descDrops, descDropBytes,
		descPolicyDrops, descPolicyDropBytes, descMapEntries, descMapCapacity, descConntrack,
		descNATPorts, descNATRange, descWalk, descWalkAge, descStore} {
		ch <- d
	}
}

// Collect reads the sources and sends the current values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	sendCounters(ch, c.src.Datapath.Counters, verdictOrDrop)
	sendCounters(ch, c.src.Datapath.PolicyDrops, policyRule)
	c.collectWalk(ch)
	ch <- prometheus.MustNewConstMetric(descNATRange, prometheus.GaugeValue, float64(c.src.NATPortRange))
	if c.src.Store != nil {
		kind, healthy := c.src.Store.StoreHealth()
		ch <- prometheus.MustNewConstMetric(descStore, prometheus.GaugeValue, b2f(healthy), kind)
	}
}

// counterDescs picks the packet and byte descriptions of a counter by its label value.
type counterDescs func(label string) (packets, bytes *prometheus.Desc)

// verdictOrDrop: drop reasons (drop_*) are ebpfnet_datapath_drops_total, the other
// verdicts ebpfnet_datapath_packets_total.
func verdictOrDrop(name string) (*prometheus.Desc, *prometheus.Desc) {
	if strings.HasPrefix(name, "drop_") {
		return descDrops, descDropBytes
	}
	return descPackets, descBytes
}

// policyRule: every label value is a rule.
func policyRule(string) (*prometheus.Desc, *prometheus.Desc) {
	return descPolicyDrops, descPolicyDropBytes
}

// sendCounters sends each counter read returns as packets and bytes counters, or read's
// error as an invalid metric.
func sendCounters(ch chan<- prometheus.Metric, read func() (map[string]maps.Counter, error), descs counterDescs) {
	counters, err := read()
	if err != nil {
		packets, _ := descs("")
		ch <- prometheus.NewInvalidMetric(packets, err)
		return
	}
	for label, v := range counters {
		packets, bytes := descs(label)
		ch <- prometheus.MustNewConstMetric(packets, prometheus.CounterValue, float64(v.Packets), label)
		ch <- prometheus.MustNewConstMetric(bytes, prometheus.CounterValue, float64(v.Bytes), label)
	}
}

func (c *Collector) collectWalk(ch chan<- prometheus.Metric) {
	s, err := c.src.Walker.Walk()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descMapEntries, err)
		return
	}
	for _, f := range s.Maps {
		ch <- prometheus.MustNewConstMetric(descMapEntries, prometheus.GaugeValue, float64(f.Entries), f.Map)
		ch <- prometheus.MustNewConstMetric(descMapCapacity, prometheus.GaugeValue, float64(f.Capacity), f.Map)
	}
	for kind, n := range s.Conntrack {
		ch <- prometheus.MustNewConstMetric(descConntrack, prometheus.GaugeValue, float64(n), kind)
	}
	for proto, n := range s.NATPorts {
		ch <- prometheus.MustNewConstMetric(descNATPorts, prometheus.GaugeValue, float64(n), proto)
	}
	ch <- prometheus.MustNewConstMetric(descWalk, prometheus.GaugeValue, s.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(descWalkAge, prometheus.GaugeValue, float64(s.Taken.UnixNano())/1e9)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
