package endpoint

import (
	"net"
	"net/netip"
)

// DefaultIfName is the container-side interface name used when Config.IfName
// is empty.
const DefaultIfName = "eth0"

// MTU bounds accepted by Create, in bytes. 68 is the IPv4 minimum; 65535 is
// the veth driver's maximum.
const (
	MinMTU = 68
	MaxMTU = 65535
)

// Config describes one endpoint's veth pair.
type Config struct {
	// NetnsPath is the container netns path, e.g. /var/run/netns/c1. It must
	// exist, be a network namespace and differ from the host namespace.
	NetnsPath string
	// IfName is the container-side interface name, 1..15 bytes; empty means
	// DefaultIfName ("eth0").
	IfName string
	// HostIfName is the host-side veth name, 1..15 bytes; derive it with
	// HostIfName(key).
	HostIfName string
	// Addr is the container IPv4 address and prefix length, e.g. 10.42.1.2/16.
	Addr netip.Prefix
	// Gateway is the default gateway IPv4 address. It must lie inside Addr's
	// prefix (so it is on-link) and differ from Addr's address.
	Gateway netip.Addr
	// MTU is applied to both ends, in bytes, MinMTU..MaxMTU.
	MTU int
	// HostMAC is set on the host-side veth (the node's router MAC); required,
	// 6-byte unicast.
	HostMAC net.HardwareAddr
	// NoDefaultRoute leaves the container's default route alone: the interface gets only the
	// connected route of Addr's prefix (a container's second network; its default route
	// stays on the first interface).
	NoDefaultRoute bool
	// ContainerMAC is optional; nil means a kernel-chosen random MAC.
	// When set it must be a 6-byte unicast address.
	ContainerMAC net.HardwareAddr
	// GSOIPv4MaxSize, in bytes, is set as gso_ipv4_max_size and gro_ipv4_max_size on both
	// ends (BIG TCP for IPv4, Linux >= 6.3; e.g. BigTCPIPv4MaxSize); 0 leaves the kernel's
	// 64 KiB. A kernel without BIG TCP keeps 64 KiB without error (see Result).
	GSOIPv4MaxSize uint32
}

// Result is what Create made.
type Result struct {
	// HostIfName is the host-side veth name.
	HostIfName string
	// HostIfIndex is the ifindex of the host-side veth in the host netns.
	HostIfIndex int
	// ContainerMAC is the actual MAC of the container-side interface.
	ContainerMAC net.HardwareAddr
	// GSOIPv4MaxSize is the container side's gso_ipv4_max_size in force, in bytes: above
	// 65536 when BIG TCP took effect, 0 when the kernel has no such setting (before 6.3).
	GSOIPv4MaxSize uint32
}
