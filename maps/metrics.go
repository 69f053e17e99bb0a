package maps

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Metric indexes the per-CPU counters: forwarding verdicts and drop reasons (enum metric in
// bpf/lib/metrics.h).
type Metric = bpf.DatapathMetric

// Counter is a packet and byte count summed over all CPUs.
type Counter struct {
	Packets uint64
	Bytes   uint64
}

// metricNames are the operator-facing names of enum metric, in its order.
var metricNames = [...]string{
	bpf.DatapathMetricMETRIC_FWD_LOCAL:                  "forward_local",
	bpf.DatapathMetricMETRIC_FWD_ENCAP:                  "forward_encap",
	bpf.DatapathMetricMETRIC_FWD_DECAP:                  "forward_decap",
	bpf.DatapathMetricMETRIC_ARP_REPLY:                  "arp_reply",
	bpf.DatapathMetricMETRIC_TO_HOST:                    "to_host",
	bpf.DatapathMetricMETRIC_DROP_UNKNOWN_ENDPOINT:      "drop_unknown_endpoint",
	bpf.DatapathMetricMETRIC_DROP_NO_ROUTE:              "drop_no_route",
	bpf.DatapathMetricMETRIC_DROP_SPOOFED_SOURCE:        "drop_spoofed_source",
	bpf.DatapathMetricMETRIC_DROP_INVALID:               "drop_invalid",
	bpf.DatapathMetricMETRIC_DROP_TTL_EXCEEDED:          "drop_ttl_exceeded",
	bpf.DatapathMetricMETRIC_DROP_BAD_VNI:               "drop_bad_vni",
	bpf.DatapathMetricMETRIC_DROP_FRAG_NEEDED:           "drop_frag_needed",
	bpf.DatapathMetricMETRIC_DROP_ENCAP_FAILED:          "drop_encap_failed",
	bpf.DatapathMetricMETRIC_FWD_SNAT:                   "forward_snat",
	bpf.DatapathMetricMETRIC_FWD_SNAT_REPLY:             "forward_snat_reply",
	bpf.DatapathMetricMETRIC_FWD_DNAT:                   "forward_dnat",
	bpf.DatapathMetricMETRIC_FWD_DNAT_REPLY:             "forward_dnat_reply",
	bpf.DatapathMetricMETRIC_DROP_CT_FULL:               "drop_ct_full",
	bpf.DatapathMetricMETRIC_DROP_NAT_EXHAUSTED:         "drop_nat_exhausted",
	bpf.DatapathMetricMETRIC_DROP_POLICY:                "drop_policy",
	bpf.DatapathMetricMETRIC_DROP_UNKNOWN_PEER:          "drop_unknown_peer",
	bpf.DatapathMetricMETRIC_DROP_TUNNEL_FROM_CONTAINER: "drop_tunnel_from_container",
	bpf.DatapathMetricMETRIC_DROP_UNENCRYPTED:           "drop_unencrypted",
	bpf.DatapathMetricMETRIC_DROP_NO_KEY:                "drop_no_key",
	bpf.DatapathMetricMETRIC_DROP_FRAG_UNKNOWN:          "drop_frag_unknown",
	bpf.DatapathMetricMETRIC_DROP_CT_QUOTA:              "drop_ct_quota",
	bpf.DatapathMetricMETRIC_DROP_PREFILTER:             "drop_prefilter",
	bpf.DatapathMetricMETRIC_DROP_CROSS_NETWORK:         "drop_cross_network",
	bpf.DatapathMetricMETRIC_DROP_INTERNAL_NETWORK:      "drop_internal_network",
	bpf.DatapathMetricMETRIC_DROP_NO_BACKEND:            "drop_no_backend",
	bpf.DatapathMetricMETRIC_FWD_SERVICE:                "forward_service",
	bpf.DatapathMetricMETRIC_FWD_NATIVE:                 "forward_native",
}

// AllMetrics lists every Metric in index order.
func AllMetrics() []Metric {
	out := make([]Metric, bpf.DatapathMetricMETRIC_MAX)
	for i := range out {
		out[i] = Metric(i)
	}
	return out
}

// MetricName is the operator-facing name of m, e.g. "drop_spoofed_source" (verdicts start
// with forward_/arp_/to_, drop reasons with drop_).
func MetricName(m Metric) string {
	if int(m) < len(metricNames) && metricNames[m] != "" {
		return metricNames[m]
	}
	return fmt.Sprintf("metric_%d", m)
}

// Metrics is the typed view of the pinned "metrics" per-CPU array.
type Metrics struct{ m *ebpf.Map }

// NewMetrics wraps the metrics map.
func NewMetrics(m *ebpf.Map) *Metrics { return &Metrics{m: m} }

// Read returns every counter summed over CPUs, indexed by Metric.
func (c *Metrics) Read() (map[Metric]Counter, error) {
	out := make(map[Metric]Counter, bpf.DatapathMetricMETRIC_MAX)
	for _, m := range AllMetrics() {
		var perCPU []bpf.DatapathMetricValue
		if err := c.m.Lookup(m, &perCPU); err != nil {
			return nil, mapErr(c.m, "read", err)
		}
		var sum Counter
		for _, v := range perCPU {
			sum.Packets += v.Packets
			sum.Bytes += v.Bytes
		}
		out[m] = sum
	}
	return out, nil
}
