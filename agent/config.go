// Package agent is the ebpfnet node agent: it loads and attaches the datapath, keeps the BPF
// maps in sync with its desired state (the store), plumbs endpoint veths, and serves the local
// API that the CLI uses. It orchestrates loader/, maps/, endpoint/ and store/.
package agent

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ebpfnet/ebpfnet/agent/cluster"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// Defaults, following Rancher's managed network where it had one.
const (
	DefaultCluster = "10.42.0.0/16" // Rancher's subnet
	// DefaultServiceCIDR is where service VIPs come from (k3s/RKE2's service CIDR).
	DefaultServiceCIDR = "10.43.0.0/16"
	DefaultVNI         = 1042 // Rancher's VXLAN backend VNI
	DefaultStateDir    = "/var/lib/ebpfnet"
	// DefaultIdentityGrace: an identity unused this long is freed (Cilium's identity GC keeps
	// unused identities for a heartbeat period in the same way).
	DefaultIdentityGrace = 5 * time.Minute
	// VXLANOverhead is what VXLAN over IPv4 adds to a frame: outer IPv4 20 + UDP 8 + VXLAN 8 +
	// inner Ethernet 14 (RFC 7348; Flannel, Cilium and Docker subtract the same).
	VXLANOverhead = 50
	// WireGuardPort is the default UDP port of the hosts' WireGuard endpoints (WireGuard's
	// customary 51820; --wireguard-port). from_container drops container UDP to any cluster
	// host on it, as on the VXLAN port (issue 9).
	WireGuardPort = wireguard.DefaultPort
)

// Config is the agent's start-up configuration (flags of `ebpfnet agent`).
type Config struct {
	UnderlayDev string       // device carrying VXLAN to peers (required)
	UnderlayIP  netip.Addr   // outer source IPv4; zero = first IPv4 address of UnderlayDev
	Cluster     netip.Prefix // cluster CIDR; zero = DefaultCluster
	ServiceCIDR netip.Prefix // service VIPs; zero = DefaultServiceCIDR; must not overlap Cluster
	PodCIDR     netip.Prefix // this node's share of Cluster; zero = none (any cluster IP)
	VNI         uint32       // 24-bit VXLAN network identifier; 0 = DefaultVNI
	MTU         int          // container MTU in bytes; 0 = underlay MTU - VXLANOverhead
	PinDir      string       // bpffs directory; "" = loader.DefaultPinDir
	StateDir    string       // state directory; "" = DefaultStateDir
	Socket      string       // API socket path; "" = api.DefaultSocket
	LegacyTC    bool         // attach with tc clsact instead of tcx
	HostNAT     bool         // default hostNat of new endpoints (masquerade to the underlay IP)
	NATPorts    [2]uint16    // masquerade source-port range; zero = below ip_local_port_range (defaultNATPorts)
	MeshPorts   [2]uint16    // routing mesh's source-port range, split among nodes; zero = off (the client's port is kept)
	MetricsAddr string       // host:port serving Prometheus /metrics over HTTP; "" = off
	CTMax       int          // conntrack/NAT map capacity; 0 = 262144
	// IdentityGrace is how long no endpoint of the cluster may use an identity before it is
	// freed; 0 = DefaultIdentityGrace.
	IdentityGrace time.Duration
	// CTMaxPerEndpoint is each endpoint's conntrack quota; 0 = a fair share,
	// CTMax / (endpoints + 1).
	CTMaxPerEndpoint int
	Logger           *slog.Logger   // nil = slog.Default()
	Store            cluster.Config // desired-state store: local (default) or etcd, see cluster.Config
	// Encryption between hosts: EncryptionNone ("" too) or EncryptionWireGuard.
	Encryption string
	// WireGuardImpl is "auto" (""), "kernel" or "userspace" (see package wireguard).
	WireGuardImpl string
	// WireGuardPort is the WireGuard UDP listen port; 0 = 51820.
	WireGuardPort int
	// WireGuardHelper is the path of ebpfnet-wireguard; "" = next to the agent's executable.
	WireGuardHelper string
	// BigTCP raises gso/gro_ipv4_max_size of the container veths the agent creates to
	// endpoint.BigTCPIPv4MaxSize when the underlay carries that much (BIG TCP for IPv4, Linux
	// >= 6.3; --big-tcp, on by default).
	BigTCP bool
	// BigTCPUnderlay lets BigTCP raise the underlay device's gso/gro_ipv4_max_size first,
	// where the device can segment that much (--big-tcp-underlay, on by default). The setting
	// outlives the agent, as its forwarding sysctl does. Off: the underlay is left as it is.
	BigTCPUnderlay bool
	// XDPMode attaches the underlay's XDP program (prefilter, early drops): "auto" ("":
	// native, but off on a veth underlay, see resolveXDPMode), "native", "generic" or "off"
	// (the tc program enforces the prefilter), loader.XDPMode.
	XDPMode string
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if !c.Cluster.IsValid() {
		c.Cluster = netip.MustParsePrefix(DefaultCluster)
	}
	if !c.ServiceCIDR.IsValid() {
		c.ServiceCIDR = netip.MustParsePrefix(DefaultServiceCIDR)
	}
	if c.VNI == 0 {
		c.VNI = DefaultVNI
	}
	if c.PinDir == "" {
		c.PinDir = loader.DefaultPinDir
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Socket == "" {
		c.Socket = api.DefaultSocket
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Store = c.Store.WithDefaults()
	if c.CTMax == 0 {
		c.CTMax = 262144
	}
	if c.IdentityGrace == 0 {
		c.IdentityGrace = DefaultIdentityGrace
	}
	if c.Encryption == "" {
		c.Encryption = EncryptionNone
	}
	if c.WireGuardImpl == "" {
		c.WireGuardImpl = string(wireguard.ImplAuto)
	}
	if c.WireGuardPort == 0 {
		c.WireGuardPort = WireGuardPort
	}
	if c.XDPMode == "" {
		c.XDPMode = string(loader.XDPAuto)
	}
	return c
}

// RouterMAC is the MAC a host answers ARP with and its VTEP MAC: 0e:00 followed by the
// underlay IPv4 bytes (Rancher's rancher/vxlan convention, so static kernel VXLAN peers can
// address us).
func RouterMAC(underlay netip.Addr) net.HardwareAddr {
	b := underlay.As4()
	return net.HardwareAddr{0x0e, 0x00, b[0], b[1], b[2], b[3]}
}

// resolveNode validates c and derives the node's datapath parameters from the underlay device.
func resolveNode(c Config) (api.Node, int, error) {
	if c.UnderlayDev == "" {
		return api.Node{}, 0, fmt.Errorf("no underlay device: pass --underlay-dev")
	}
	if !c.Cluster.Addr().Is4() || c.Cluster != c.Cluster.Masked() {
		return api.Node{}, 0, fmt.Errorf("cluster CIDR %s: want an IPv4 network address", c.Cluster)
	}
	if !c.ServiceCIDR.Addr().Is4() || c.ServiceCIDR != c.ServiceCIDR.Masked() || c.ServiceCIDR.Overlaps(c.Cluster) {
		return api.Node{}, 0, fmt.Errorf("service CIDR %s: want an IPv4 network address outside the cluster CIDR %s", c.ServiceCIDR, c.Cluster)
	}
	if c.VNI >= 1<<24 {
		return api.Node{}, 0, fmt.Errorf("VNI %d does not fit in 24 bits", c.VNI)
	}
	if c.NATPorts[0] == 0 || c.NATPorts[0] > c.NATPorts[1] {
		return api.Node{}, 0, fmt.Errorf("masquerade port range %d-%d: want 1 <= first <= last", c.NATPorts[0], c.NATPorts[1])
	}
	if c.CTMaxPerEndpoint < 0 || c.CTMaxPerEndpoint > c.CTMax {
		return api.Node{}, 0, fmt.Errorf("conntrack quota per endpoint %d: want 1 to --ct-max (%d), or 0 for a fair share", c.CTMaxPerEndpoint, c.CTMax)
	}
	if c.IdentityGrace < 0 {
		return api.Node{}, 0, fmt.Errorf("identity GC grace %s: want a positive duration", c.IdentityGrace)
	}
	if err := checkEncryption(c); err != nil {
		return api.Node{}, 0, err
	}
	if _, err := loader.ParseXDPMode(c.XDPMode); err != nil {
		return api.Node{}, 0, err
	}
	if c.CTMax < 1024 {
		return api.Node{}, 0, fmt.Errorf("conntrack size %d: want at least 1024", c.CTMax)
	}
	if c.PodCIDR.IsValid() && (!c.PodCIDR.Addr().Is4() || c.PodCIDR != c.PodCIDR.Masked() ||
		c.PodCIDR.Bits() < c.Cluster.Bits() || !c.Cluster.Contains(c.PodCIDR.Addr()) || c.PodCIDR.Bits() > 30) {
		return api.Node{}, 0, fmt.Errorf("pod CIDR %s: want an IPv4 network of /30 or larger inside the cluster CIDR %s", c.PodCIDR, c.Cluster)
	}
	if _, err := meshPortSlice(c.MeshPorts, c.Cluster, c.PodCIDR); err != nil {
		return api.Node{}, 0, err
	}
	link, err := netlink.LinkByName(c.UnderlayDev)
	if err != nil {
		return api.Node{}, 0, fmt.Errorf("underlay device %q: %w", c.UnderlayDev, err)
	}
	ip := c.UnderlayIP
	if !ip.IsValid() {
		addrs, err := netlink.AddrList(link, unix.AF_INET)
		if err != nil || len(addrs) == 0 {
			return api.Node{}, 0, fmt.Errorf("underlay device %q has no IPv4 address: pass --underlay-ip", c.UnderlayDev)
		}
		ip, _ = netip.AddrFromSlice(addrs[0].IP.To4())
	}
	if !ip.Is4() {
		return api.Node{}, 0, fmt.Errorf("underlay IP %s is not IPv4", ip)
	}
	overhead := VXLANOverhead + encryptionOverhead(c.Encryption)
	mtu := c.MTU
	if mtu == 0 {
		mtu = link.Attrs().MTU - overhead
	}
	if mtu < 576 || mtu > link.Attrs().MTU-overhead {
		return api.Node{}, 0, fmt.Errorf("container MTU %d: want 576..%d (underlay MTU %d - %d for VXLAN and encryption)",
			mtu, link.Attrs().MTU-overhead, link.Attrs().MTU, overhead)
	}
	gwNet := c.Cluster
	if c.PodCIDR.IsValid() {
		gwNet = c.PodCIDR
	}
	return api.Node{
		UnderlayDev: c.UnderlayDev,
		UnderlayIP:  ip,
		RouterMAC:   RouterMAC(ip).String(),
		VNI:         c.VNI,
		Cluster:     c.Cluster,
		PodCIDR:     c.PodCIDR,
		Gateway:     gwNet.Addr().Next(),
		MTU:         mtu,
		Encryption:  c.Encryption,
	}, link.Attrs().Index, nil
}
