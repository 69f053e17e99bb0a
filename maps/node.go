package maps

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Node is this host's datapath configuration, the single entry of the "node_config" array
// (bpf/lib/maps.h struct node_params).
type Node struct {
	UnderlayIP      netip.Addr       // this host's underlay IPv4: outer source of VXLAN packets
	UnderlayIfIndex int              // underlay device; encapsulated packets leave through it
	VNI             uint32           // VXLAN network identifier, 24 bits (RFC 7348)
	Cluster         netip.Prefix     // cluster CIDR (e.g. 10.42.0.0/16): ARP answered, routed in BPF
	RouterMAC       net.HardwareAddr // 6 bytes: answer to ARP, source MAC of delivered packets
	Gateway         netip.Addr       // containers' gateway IPv4: source given to self-hairpin traffic
	NATPortMin      uint16           // masquerade source ports, inclusive range
	NATPortMax      uint16
	PolicyEnforce   bool // network policy is enforced (rules exist or the default is deny)
	PolicyDefault   bool // verdict of packets no policy entry matches: true = allow
	// PolicyRev is the policy revision in force (wraps at 65,536); its low bit names the
	// generation of policy map entries the datapath reads. Changed by [SwapPolicy] only.
	PolicyRev uint16
	// WireGuardPort is the UDP port of the hosts' WireGuard endpoints (host byte order here,
	// network order in the map); from_container drops container UDP to a cluster host on it.
	// 0 = no WireGuard port is guarded.
	WireGuardPort uint16
	// WireGuardIfIndex is the WireGuard device; 0 = encryption off.
	WireGuardIfIndex int
	// MeshPortMin and MeshPortMax bound (inclusive, host byte order) this host's slice of the
	// routing mesh's source ports: a client's source port is translated into it at this
	// entry host (bpf/lib/lb_mesh_port.h). MeshPortMin 0: the client's port is kept.
	MeshPortMin, MeshPortMax uint16
}

// NodeConfig is the typed view of the pinned "node_config" array map (1 entry).
type NodeConfig struct{ m *ebpf.Map }

// NewNodeConfig wraps the node_config map.
func NewNodeConfig(m *ebpf.Map) *NodeConfig { return &NodeConfig{m: m} }

// Set writes n. Errors: non-IPv4 addresses, VNI over 24 bits, MAC not 6 bytes.
func (c *NodeConfig) Set(n Node) error {
	if err := requireIPv4("underlay IP", n.UnderlayIP); err != nil {
		return err
	}
	if err := requireIPv4("cluster CIDR", n.Cluster.Addr()); err != nil {
		return err
	}
	if n.VNI >= 1<<24 {
		return fmt.Errorf("VNI %d does not fit in 24 bits", n.VNI)
	}
	if err := requireIPv4("gateway", n.Gateway); err != nil {
		return err
	}
	if n.NATPortMin == 0 || n.NATPortMin > n.NATPortMax {
		return fmt.Errorf("masquerade port range %d-%d: want 1 <= min <= max", n.NATPortMin, n.NATPortMax)
	}
	if n.MeshPortMin != 0 && n.MeshPortMin > n.MeshPortMax {
		return fmt.Errorf("mesh port slice %d-%d: want min <= max", n.MeshPortMin, n.MeshPortMax)
	}
	if len(n.RouterMAC) != 6 {
		return fmt.Errorf("router MAC %q is not 6 bytes", n.RouterMAC)
	}
	mask := net.CIDRMask(n.Cluster.Bits(), 32)
	v := bpf.DatapathNodeParams{
		UnderlayIp:      be32(n.UnderlayIP),
		Vni:             n.VNI,
		ClusterIp:       be32(n.Cluster.Masked().Addr()),
		ClusterMask:     be32(netip.AddrFrom4([4]byte(mask))),
		UnderlayIfindex: uint32(n.UnderlayIfIndex),
		GatewayIp:       be32(n.Gateway),
		NatPortMin:      n.NATPortMin,
		NatPortMax:      n.NATPortMax,
		PolicyEnforce:   b2u8(n.PolicyEnforce),
		PolicyDefault:   verdictOf(n.PolicyDefault),
		PolicyRev:       n.PolicyRev,
		WgPort:          be16(n.WireGuardPort),
		WgIfindex:       uint32(n.WireGuardIfIndex),
		MeshPortMin:     n.MeshPortMin,
		MeshPortMax:     n.MeshPortMax,
	}
	copy(v.RouterMac[:], n.RouterMAC)
	return mapErr(c.m, "set", c.m.Put(uint32(0), v))
}

// Get reads the current configuration (all zero before the agent's first Set).
func (c *NodeConfig) Get() (Node, error) {
	var v bpf.DatapathNodeParams
	if err := c.m.Lookup(uint32(0), &v); err != nil {
		return Node{}, mapErr(c.m, "get", err)
	}
	mask := addrFromBE32(v.ClusterMask).As4()
	bits, _ := net.IPMask(mask[:]).Size()
	return Node{
		UnderlayIP:       addrFromBE32(v.UnderlayIp),
		UnderlayIfIndex:  int(v.UnderlayIfindex),
		VNI:              v.Vni,
		Cluster:          netip.PrefixFrom(addrFromBE32(v.ClusterIp), bits),
		RouterMAC:        net.HardwareAddr(append([]byte(nil), v.RouterMac[:]...)),
		Gateway:          addrFromBE32(v.GatewayIp),
		NATPortMin:       v.NatPortMin,
		NATPortMax:       v.NatPortMax,
		PolicyEnforce:    v.PolicyEnforce != 0,
		PolicyDefault:    v.PolicyDefault == bpf.DatapathPolicyVerdictPOLICY_ALLOW,
		WireGuardPort:    fromBE16(v.WgPort),
		WireGuardIfIndex: int(v.WgIfindex),
		PolicyRev:        v.PolicyRev,
		MeshPortMin:      v.MeshPortMin,
		MeshPortMax:      v.MeshPortMax,
	}, nil
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// verdictOf is the datapath verdict (enum policy_verdict) of allow.
func verdictOf(allow bool) bpf.DatapathPolicyVerdict {
	if allow {
		return bpf.DatapathPolicyVerdictPOLICY_ALLOW
	}
	return bpf.DatapathPolicyVerdictPOLICY_DENY
}
