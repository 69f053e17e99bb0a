// Package api defines the JSON documents exchanged between the ebpfnet CLI and the agent over
// the agent's unix socket, and stored by the agent's state store.
package api

import "net/netip"

// Endpoint is a container attached to this host, as requested and as stored.
type Endpoint struct {
	Name       string            `json:"name"`                 // unique on the host: [A-Za-z0-9_.-], 1..64
	Netns      string            `json:"netns"`                // container netns path, e.g. /var/run/netns/c1
	IP         netip.Addr        `json:"ip"`                   // IPv4 inside the cluster CIDR (and the pod CIDR if set)
	MAC        string            `json:"mac,omitempty"`        // container eth0 MAC; empty on request = kernel-chosen
	Labels     map[string]string `json:"labels,omitempty"`     // key=value labels; they pick the identity
	Identity   uint32            `json:"identity,omitempty"`   // numeric identity of Labels (set by the agent)
	HostIfName string            `json:"hostIfName,omitempty"` // host-side veth (set by the agent)
	IfIndex    int               `json:"ifindex,omitempty"`    // host-side ifindex (set by the agent; 0 = veth gone)
}

// Peer routes a pod CIDR of another host through VXLAN to that host's underlay IPv4 (VTEP).
type Peer struct {
	CIDR   netip.Prefix `json:"cidr"`   // e.g. 10.42.2.0/24, inside the cluster CIDR
	HostIP netip.Addr   `json:"hostIP"` // peer host underlay IPv4
}

// Node is this host's datapath configuration.
type Node struct {
	UnderlayDev string       `json:"underlayDev"`
	UnderlayIP  netip.Addr   `json:"underlayIP"`
	RouterMAC   string       `json:"routerMAC"` // 0e:00:<underlay IPv4>, also this host's VTEP MAC
	VNI         uint32       `json:"vni"`
	Cluster     netip.Prefix `json:"clusterCIDR"`
	PodCIDR     netip.Prefix `json:"podCIDR,omitzero"`
	Gateway     netip.Addr   `json:"gateway"` // containers' default gateway
	MTU         int          `json:"mtu"`     // container MTU, bytes
}

// Counter is one datapath counter summed over CPUs.
type Counter struct {
	Name    string `json:"name"` // e.g. forward_local, drop_unknown_endpoint
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Status is the agent's view of itself and its datapath.
type Status struct {
	Version   string    `json:"version"`
	Node      Node      `json:"node"`
	PinDir    string    `json:"pinDir"`
	StatePath string    `json:"statePath"`
	Endpoints int       `json:"endpoints"`
	Peers     int       `json:"peers"`
	Counters  []Counter `json:"counters"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}

// EndpointRequest asks the agent to attach a container. Fields are raw user input; the agent
// parses and validates them and answers with the created Endpoint.
type EndpointRequest struct {
	Name   string   `json:"name"`
	Netns  string   `json:"netns"`
	IP     string   `json:"ip"`
	MAC    string   `json:"mac,omitempty"`
	Labels []string `json:"labels,omitempty"` // "key=value" each
}

// PeerRequest asks the agent to route CIDR to the peer host HostIP (raw user input).
type PeerRequest struct {
	CIDR   string `json:"cidr"`
	HostIP string `json:"hostIP"`
}
