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
	IfName     string            `json:"ifName,omitempty"`     // container-side interface (set by the agent; empty = eth0)
	MTU        int               `json:"mtu,omitempty"`        // MTU of both veth ends (set by the agent)
	HostNAT    bool              `json:"hostNat"`              // masquerade traffic leaving the cluster
	Ports      []PortMapping     `json:"ports,omitempty"`      // published ports forwarded to it
}

// PortMapping publishes HostIP:HostPort..HostPortEnd/Proto to the endpoint's
// ContainerPort..(ContainerPort + HostPortEnd - HostPort), like Docker's
// `-p hostIP:hostPort:containerPort/proto` and CNI portmap's portMappings.
type PortMapping struct {
	HostIP        netip.Addr `json:"hostIP,omitzero"` // zero = every host address
	HostPort      uint16     `json:"hostPort"`
	HostPortEnd   uint16     `json:"hostPortEnd"` // == HostPort for a single port
	ContainerPort uint16     `json:"containerPort"`
	Proto         string     `json:"protocol"` // "tcp" or "udp"
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
	IfName string   `json:"ifName,omitempty"` // container-side interface name; empty = eth0
	MTU    int      `json:"mtu,omitempty"`    // veth MTU; 0 = the node's container MTU, never more
	// HostNAT overrides the agent's --host-nat default for this endpoint when set.
	HostNAT *bool `json:"hostNat,omitempty"`
}

// PublishRequest asks the agent to publish ports of an endpoint (raw user input).
type PublishRequest struct {
	Endpoint string `json:"endpoint"`
	Spec     string `json:"spec"`              // "8080:80/tcp", "9000-9099:9000-9099/udp", "53:53" (tcp)
	HostIP   string `json:"hostIP,omitempty"`  // default: every host address
	Replace  bool   `json:"replace,omitempty"` // move an identical mapping from another endpoint
}

// NATEntry is one live connection-tracking/NAT entry (one direction of a flow).
type NATEntry struct {
	Kind     string     `json:"kind"` // snat-out, snat-in, dnat-reply
	Proto    string     `json:"protocol"`
	Src      netip.Addr `json:"src"`
	SrcPort  uint16     `json:"srcPort"`
	Dst      netip.Addr `json:"dst"`
	DstPort  uint16     `json:"dstPort"`
	To       netip.Addr `json:"to"` // translated address
	ToPort   uint16     `json:"toPort"`
	IdleSecs float64    `json:"idleSeconds"`
}

// PeerRequest asks the agent to route CIDR to the peer host HostIP (raw user input).
type PeerRequest struct {
	CIDR   string `json:"cidr"`
	HostIP string `json:"hostIP"`
}
