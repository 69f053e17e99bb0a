package api

import "net/netip"

// DefaultNetwork is the name of the network every node has from its start-up flags
// (--cluster-cidr, --vni, --host-nat): today's single cluster network, datapath id 0. It is
// never stored and cannot be removed; endpoints that name no network are on it.
const DefaultNetwork = "default"

// Network modes: how a network's packets cross between hosts.
const (
	NetworkModeVXLAN  = "vxlan"  // VXLAN with the network's VNI (RFC 7348)
	NetworkModeNative = "native" // routed without encapsulation (hosts on one L2 segment)
)

// Network is an isolated container network (Docker's `network create`, Rancher 1.6's network
// resource): its own subnet and VNI; endpoints reach each other only within it.
type Network struct {
	Name string `json:"name"` // unique in the cluster: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
	// ID is the network's small datapath id (the key of the networks BPF map, carried in
	// endpoint and ipcache entries), allocated by the agent; 0 is the default network.
	ID     uint16       `json:"id"`
	Subnet netip.Prefix `json:"subnet"` // IPv4; overlaps no other network's subnet
	VNI    uint32       `json:"vni"`    // 24-bit VXLAN network identifier, unique in the cluster
	Mode   string       `json:"mode"`   // NetworkModeVXLAN or NetworkModeNative
	// DefaultPolicy is the network's defaultPolicyAction (Rancher's field); empty = the
	// cluster policy's default action decides.
	DefaultPolicy PolicyAction `json:"defaultPolicyAction,omitempty"`
	HostNAT       bool         `json:"hostNat"`            // its endpoints' traffic leaving the cluster is masqueraded
	HostPorts     bool         `json:"hostPorts"`          // its endpoints may have published ports (Rancher's hostPorts)
	Internal      bool         `json:"internal,omitempty"` // its endpoints reach nothing outside the network
	MTU           int          `json:"mtu,omitempty"`      // container MTU in bytes; 0 = the node's container MTU
	// NodePrefixLen is the prefix length of each node's slice of Subnet (its pod CIDR of the
	// network; the gateway is the slice's first address). 0 (records from before slices) =
	// DefaultNodePrefixLen(Subnet).
	NodePrefixLen int `json:"nodePrefixLen,omitempty"`
}

// MaxNodePrefixLen is the longest node slice: a /30 holds the network and broadcast
// addresses, the gateway and one endpoint.
const MaxNodePrefixLen = 30

// DefaultNodePrefixLen is the node slice size of a network with subnet s created without
// --node-prefix-len: 8 bits longer (256 slices), at most /28 (13 endpoints per node), and
// never shorter than the subnet itself (a /29 or /30 subnet is one slice).
func DefaultNodePrefixLen(s netip.Prefix) int {
	return max(s.Bits(), min(s.Bits()+8, 28))
}

// SlicePrefixLen is n's node slice size: NodePrefixLen, or its default for records from
// before slices.
func (n Network) SlicePrefixLen() int {
	if n.NodePrefixLen != 0 {
		return n.NodePrefixLen
	}
	return DefaultNodePrefixLen(n.Subnet)
}

// NetworkSlice is one node's slice of a network's subnet (`network inspect`): with etcd the
// allocation cidrs/<cidr> of node Node, with the local store this node's own (Node empty).
type NetworkSlice struct {
	Node string       `json:"node,omitempty"`
	CIDR netip.Prefix `json:"cidr"`
	Self bool         `json:"self,omitempty"` // this agent's node
}

// NetworkInfo is a network as `network list|inspect` shows it: with the endpoints attached
// to it on any node of the cluster (by name, sorted).
type NetworkInfo struct {
	Network
	Endpoints []string `json:"endpoints"`
	// Slices are the nodes' slices of the subnet (allocated on a node's first endpoint of the
	// network), by CIDR; empty, never null, when no node has one.
	Slices []NetworkSlice `json:"slices"`
}

// ConnectRequest asks the agent to give an endpoint's container one more interface, on
// Network with address IP (raw user input; empty = the next free address of this node's
// slice of Network), as `docker network connect` does.
type ConnectRequest struct {
	Network string `json:"network"`
	IP      string `json:"ip"`
	MAC     string `json:"mac,omitempty"` // empty = kernel-chosen
}

// NetworkRequest asks the agent to create a network (raw user input; the agent validates
// it and answers with the created Network).
type NetworkRequest struct {
	Name   string `json:"name"`
	Subnet string `json:"subnet"`         // IPv4 CIDR, e.g. 10.43.0.0/16
	VNI    uint32 `json:"vni,omitempty"`  // 0 = the lowest free VNI from 4096
	Mode   string `json:"mode,omitempty"` // "" = vxlan
	// DefaultPolicy is "allow", "deny" or "" (the cluster policy's default decides).
	DefaultPolicy string `json:"defaultPolicyAction,omitempty"`
	HostNAT       *bool  `json:"hostNat,omitempty"`   // nil = the agent's --host-nat
	HostPorts     *bool  `json:"hostPorts,omitempty"` // nil = true
	Internal      bool   `json:"internal,omitempty"`
	MTU           int    `json:"mtu,omitempty"` // 0 = the node's container MTU
	// NodePrefixLen is the prefix length of each node's slice; 0 = DefaultNodePrefixLen.
	NodePrefixLen int `json:"nodePrefixLen,omitempty"`
}
