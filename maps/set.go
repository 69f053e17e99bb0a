package maps

import "github.com/ebpfnet/ebpfnet/bpf"

// Set groups the views of one datapath's maps.
type Set struct {
	raw *bpf.DatapathMaps // every map, for Fills

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
	// CTQuota holds each endpoint's conntrack quota and use.
	CTQuota *CTQuota
	// Networks holds the networks, their subnets and VNIs.
	Networks *Networks
	// Services holds the service VIPs, their backends and Maglev tables.
	Services *Services
	// Prefilter is the underlay's source-prefix deny list.
	Prefilter *Prefilter
}

// NewSet wraps the loaded (or pinned) maps of one datapath.
func NewSet(m *bpf.DatapathMaps) Set {
	return Set{
		raw: m,

		Endpoints:   NewEndpoints(m.Endpoints),
		IPCache:     NewIPCache(m.Ipcache),
		Peers:       NewPeers(m.Peers),
		Node:        NewNodeConfig(m.NodeConfig),
		Metrics:     NewMetrics(m.Metrics),
		CT:          NewCT(m.Ct),
		Published:   NewPublished(m.Published),
		Policy:      NewPolicy(m.Policy),
		PolicyDrops: NewPolicyDrops(m.PolicyDrops),
		CTQuota:     NewCTQuota(m.CtQuota),
		Networks:    NewNetworks(m.Networks, m.NetworkSubnets, m.NetworkVnis),
		Services:    NewServices(m.LbServices, m.LbBackends, m.LbMaglev),
		Prefilter:   NewPrefilter(m.PrefilterConfig, m.PrefilterV40, m.PrefilterV41),
	}
}
