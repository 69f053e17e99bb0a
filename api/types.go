// Package api defines the JSON documents exchanged between the ebpfnet CLI and the agent over
// the agent's unix socket, and stored by the agent's state store.
package api

import (
	"net/netip"
	"time"
)

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
	Links      []string          `json:"links,omitempty"`      // endpoints it links to
	Network    string            `json:"network,omitempty"`    // the network it is on; empty = DefaultNetwork
	// Parent names the endpoint whose container this is a further interface of (`endpoint
	// connect`, named <parent>.<network>, no default route); empty for an endpoint itself.
	Parent string `json:"parent,omitempty"`
	// HostIP is the underlay IPv4 of the node it is attached to (set by the agent): other
	// nodes route a network's endpoints, which have no per-node pod CIDR, to it.
	HostIP netip.Addr `json:"hostIP,omitzero"`
	// Unhealthy lists the service ports whose health check this endpoint fails (set by its
	// agent); it is no backend of those services meanwhile.
	Unhealthy []uint16 `json:"unhealthyPorts,omitempty"`
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
	// PlainVXLAN: the peer is a kernel VXLAN host, not ebpfnet; packets to it carry no
	// sender identity (VXLAN Group Policy extension), which it would drop.
	PlainVXLAN bool `json:"plainVXLAN,omitempty"`
	// WGPublicKey is the peer host's WireGuard public key (base64, 44 characters): with
	// --encryption wireguard, VXLAN to it is encrypted; without one it gets nothing (unless
	// PlainVXLAN). From `peer add --wg-public-key` or the node's etcd record.
	WGPublicKey string `json:"wgPublicKey,omitempty"`
	// WGPort is the peer's WireGuard UDP port; 0 = this node's --wireguard-port.
	WGPort uint16 `json:"wgPort,omitempty"`
}

// Node is this host's datapath configuration.
type Node struct {
	UnderlayDev string       `json:"underlayDev"`
	UnderlayIP  netip.Addr   `json:"underlayIP"`
	RouterMAC   string       `json:"routerMAC"` // 0e:00:<underlay IPv4>, also this host's VTEP MAC
	VNI         uint32       `json:"vni"`
	Cluster     netip.Prefix `json:"clusterCIDR"`
	PodCIDR     netip.Prefix `json:"podCIDR,omitzero"`
	Gateway     netip.Addr   `json:"gateway"`    // containers' default gateway
	MTU         int          `json:"mtu"`        // container MTU, bytes
	Encryption  string       `json:"encryption"` // "none" or "wireguard"
}

// Counter is one datapath counter summed over CPUs.
type Counter struct {
	Name    string `json:"name"` // e.g. forward_local, drop_unknown_endpoint
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// MapFill is how full one keyed BPF map (hash, LRU, LPM trie) is, from a walk at most a few
// seconds old. Status.Maps lists every such map.
type MapFill struct {
	Map      string `json:"map"`      // pinned name, e.g. ct
	Entries  int    `json:"entries"`  // keys present
	Capacity int    `json:"capacity"` // max_entries
}

// Status is the agent's view of itself and its datapath.
type Status struct {
	Version   string      `json:"version"`
	Node      Node        `json:"node"`
	PinDir    string      `json:"pinDir"`
	StatePath string      `json:"statePath"` // bbolt file, or etcd://<endpoints><prefix> for etcd
	Store     StoreStatus `json:"store"`
	Maps      []MapFill   `json:"maps,omitempty"`
	Endpoints int         `json:"endpoints"` // stored endpoints of this node (last known while the store is down)
	Peers     int         `json:"peers"`     // static peers plus other live nodes (last known while the store is down)
	// OffLinkPeers names the peer hosts that are not on-link on the underlay while a native
	// network exists, with the route they have (a node joining through etcd cannot be
	// refused): the datapath drops native packets to them (drop_no_route).
	OffLinkPeers []string  `json:"offLinkPeers,omitempty"`
	Nodes        int       `json:"nodes"` // live nodes in the cluster store, this one included; 0 with the local store
	Counters     []Counter `json:"counters"`
	// Conntrack is the endpoints with the most conntrack entries, most first (at most 10).
	Conntrack []CTUse `json:"conntrack"`
	CTMax     int     `json:"ctMax"` // conntrack map capacity
	// WireGuard is the encryption device and its peers; nil with --encryption none.
	WireGuard *WireGuardStatus `json:"wireguard,omitempty"`
	XDP       XDPStatus        `json:"xdp"`
}

// WireGuardStatus is the node's WireGuard device as `ebpfnet status` shows it.
type WireGuardStatus struct {
	Impl       string          `json:"impl"`          // "kernel" or "userspace"
	Device     string          `json:"device"`        // e.g. ebwg1a2b3c4d
	PID        int             `json:"pid,omitempty"` // userspace helper process
	PublicKey  string          `json:"publicKey"`
	ListenPort int             `json:"listenPort"`
	Peers      []WireGuardPeer `json:"peers"`
	Error      string          `json:"error,omitempty"` // the device could not be read
}

// WireGuardPeer is one encrypted peer host.
type WireGuardPeer struct {
	HostIP        netip.Addr `json:"hostIP"`
	PublicKey     string     `json:"publicKey"`
	Endpoint      string     `json:"endpoint"`               // underlay IPv4:port
	LastHandshake time.Time  `json:"lastHandshake,omitzero"` // zero: none yet
	RxBytes       int64      `json:"rxBytes"`                // bytes received through the tunnel
	TxBytes       int64      `json:"txBytes"`                // bytes sent through the tunnel
}

// CTUse is one endpoint's conntrack use against its quota (--ct-max-per-endpoint).
type CTUse struct {
	Endpoint string     `json:"endpoint"`
	IP       netip.Addr `json:"ip"`
	Entries  int        `json:"entries"` // entries charged (recounted every 10 s as idle ones expire)
	Limit    int        `json:"limit"`   // new flows are dropped (drop_ct_quota) at this many
}

// StoreStatus is the health of the agent's desired-state store.
type StoreStatus struct {
	Kind     string `json:"kind"`               // "local" (bbolt) or "etcd"
	Healthy  bool   `json:"healthy"`            // the last request to the store succeeded
	Error    string `json:"error,omitempty"`    // why it is unhealthy (or why the node is not registered)
	NodeName string `json:"nodeName,omitempty"` // this node's name in the cluster store (etcd only)
	// Registered is true while this node's key nodes/<name> is attached to a live lease (etcd only).
	Registered bool `json:"registered,omitempty"`
}

// NodeRecord is one host as registered in the cluster store, the JSON value of etcd key
// <prefix>nodes/<name>, attached to the node's lease: it disappears when the node stops
// renewing the lease. Other nodes route PodCIDR through VXLAN to UnderlayIP.
type NodeRecord struct {
	Name       string       `json:"name"`       // unique node name: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
	UnderlayIP netip.Addr   `json:"underlayIP"` // VXLAN tunnel endpoint (IPv4)
	PodCIDR    netip.Prefix `json:"podCIDR"`    // the node's share of the cluster CIDR
	VTEPMAC    string       `json:"vtepMAC"`    // 0e:00:<underlay IPv4>, the node's router/VTEP MAC
	// WGPublicKey and WGPort are the node's WireGuard public key (base64) and UDP port when it
	// runs --encryption wireguard; empty/0 otherwise.
	WGPublicKey string `json:"wgPublicKey,omitempty"`
	WGPort      uint16 `json:"wgPort,omitempty"`
}

// NodeInfo is one row of `ebpfnet node list` (GET /v1/nodes): a registered node, or a node
// that still holds a pod CIDR allocation but whose lease is gone (LeaseHealthy false; its
// UnderlayIP and VTEPMAC are then unknown and zero).
type NodeInfo struct {
	NodeRecord
	Self         bool  `json:"self,omitempty"`            // this agent's own node
	LeaseHealthy bool  `json:"leaseHealthy"`              // its node key exists and its lease has time left
	LeaseTTL     int64 `json:"leaseTTLSeconds,omitempty"` // seconds left on the lease, as etcd reports it
	// WireGuard is this agent's encrypted tunnel to the node (handshake, bytes); nil when
	// there is none (encryption off here, the node has no key, or it is this node).
	WireGuard *WireGuardPeer `json:"wireguard,omitempty"`
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
	IP     string   `json:"ip"` // IPv4; empty = the next free address of this node's pod CIDR or slice of Network
	MAC    string   `json:"mac,omitempty"`
	Labels []string `json:"labels,omitempty"` // "key=value" each
	IfName string   `json:"ifName,omitempty"` // container-side interface name; empty = eth0
	MTU    int      `json:"mtu,omitempty"`    // veth MTU; 0 = the node's container MTU, never more
	// HostNAT overrides the agent's --host-nat default for this endpoint when set.
	HostNAT *bool `json:"hostNat,omitempty"`
	// Links names endpoints this one links to (Rancher's links; `within: linked` rules).
	Links []string `json:"links,omitempty"`
	// Network names the network to attach to (its subnet holds IP); empty = DefaultNetwork.
	Network string `json:"network,omitempty"`
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
	CIDR       string `json:"cidr"`
	HostIP     string `json:"hostIP"`
	PlainVXLAN bool   `json:"plainVXLAN,omitempty"`
	// WGPublicKey is the peer host's WireGuard public key (base64); empty = none.
	WGPublicKey string `json:"wgPublicKey,omitempty"`
}

// PeerKeyRequest sets the WireGuard public key of a peer host (raw user input).
type PeerKeyRequest struct {
	HostIP      string `json:"hostIP"`
	WGPublicKey string `json:"wgPublicKey"`
}

// PolicyRule is one numbered rule of the network policy as `ebpfnet policy list` shows it.
type PolicyRule struct {
	Index   int               `json:"index"`
	Rule    NetworkPolicyRule `json:"rule"`
	Text    string            `json:"text"`    // e.g. "deny from app=web to app=db ports 5432/tcp"
	Dropped uint64            `json:"dropped"` // packets this rule denied on this host
}

// PolicyState is the network policy with this host's enforcement figures.
type PolicyState struct {
	DefaultAction  PolicyAction `json:"defaultPolicyAction"`
	Rules          []PolicyRule `json:"rules"`
	DefaultDropped uint64       `json:"defaultDropped"` // packets the default action denied here
	Entries        int          `json:"entries"`        // compiled policy map entries
	Enforced       bool         `json:"enforced"`
	// SyncError says why the stored policy is not the one in force on this host (it did not
	// fit the policy map after identities grew); empty when it is.
	SyncError string `json:"syncError,omitempty"`
}

// DropEvent is one dropped packet as `ebpfnet monitor` streams it.
type DropEvent struct {
	Time        time.Time         `json:"time"`
	Reason      string            `json:"reason"` // e.g. drop_policy, drop_spoofed_source
	Proto       string            `json:"protocol"`
	Src         netip.Addr        `json:"src,omitzero"`
	SrcPort     uint16            `json:"srcPort,omitempty"`
	Dst         netip.Addr        `json:"dst,omitzero"`
	DstPort     uint16            `json:"dstPort,omitempty"`
	SrcEndpoint string            `json:"srcEndpoint,omitempty"` // endpoint names (any node), when known
	DstEndpoint string            `json:"dstEndpoint,omitempty"`
	SrcIdentity uint32            `json:"srcIdentity,omitempty"`
	DstIdentity uint32            `json:"dstIdentity,omitempty"`
	SrcLabels   map[string]string `json:"srcLabels,omitempty"`
	DstLabels   map[string]string `json:"dstLabels,omitempty"`
	Rule        int               `json:"rule"` // deciding rule index; -1 default action; -2 none
	RuleText    string            `json:"ruleText,omitempty"`
}

// Explanation answers `ebpfnet policy explain`.
type Explanation struct {
	Verdict string `json:"verdict"` // allow or deny
	Rule    int    `json:"rule"`    // deciding rule index, -1 for the default action
	Text    string `json:"text"`
}

// XDPStatus is the underlay's XDP program as `ebpfnet status` shows it (--xdp-mode).
type XDPStatus struct {
	Requested string `json:"requested"` // --xdp-mode: auto, native, generic or off
	// Mode is the attach mode the kernel reports for the underlay device (IFLA_XDP_ATTACHED):
	// native, generic, or off when no XDP program is attached.
	Mode        string `json:"mode"`
	Attached    bool   `json:"attached"`    // ebpfnet's program is the one attached
	TCPrefilter bool   `json:"tcPrefilter"` // from_overlay checks the deny list (XDP off)
	Prefixes    int    `json:"prefixes"`    // prefixes on the prefilter deny list
}

// PrefilterRequest adds or removes deny-list prefixes (POST and DELETE /v1/prefilter): IPv4
// CIDRs ("198.51.100.0/24") or addresses (a /32).
type PrefilterRequest struct {
	Prefixes []string `json:"prefixes"`
}

// Prefilter is the underlay's deny list of IPv4 source prefixes (GET /v1/prefilter), sorted.
type Prefilter struct {
	Prefixes []netip.Prefix `json:"prefixes"`
	Capacity int            `json:"capacity"` // prefixes the list can hold
}

// PrefilterChange answers a change of the deny list (PUT, POST and DELETE /v1/prefilter).
type PrefilterChange struct {
	Prefixes int `json:"prefixes"` // prefixes on the list after the change
	// Seconds is how long the change took until the datapath used the new list.
	Seconds float64 `json:"seconds"`
}
