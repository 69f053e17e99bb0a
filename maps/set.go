package maps

import "github.com/ebpfnet/ebpfnet/bpf"

// Set groups the views of one datapath's maps.
type Set struct {
	Endpoints *Endpoints
	IPCache   *IPCache
	Peers     *Peers
	Node      *NodeConfig
	Metrics   *Metrics
	CT        *CT
	Published *Published
	Policy    *Policy
	// PolicyDrops counts drops per deciding rule.
	PolicyDrops *PolicyDrops
}

// NewSet wraps the loaded (or pinned) maps of one datapath.
func NewSet(m *bpf.DatapathMaps) Set {
	return Set{
		Endpoints:   NewEndpoints(m.Endpoints),
		IPCache:     NewIPCache(m.Ipcache),
		Peers:       NewPeers(m.Peers),
		Node:        NewNodeConfig(m.NodeConfig),
		Metrics:     NewMetrics(m.Metrics),
		CT:          NewCT(m.Ct),
		Published:   NewPublished(m.Published),
		Policy:      NewPolicy(m.Policy),
		PolicyDrops: NewPolicyDrops(m.PolicyDrops),
	}
}
