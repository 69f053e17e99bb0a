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
}

// Result is what Create made.
type Result struct {
	// HostIfName is the host-side veth name.
	HostIfName string
	// HostIfIndex is the ifindex of the host-side veth in the host netns.
	HostIfIndex int
	// ContainerMAC is the actual MAC of the container-side interface.
	ContainerMAC net.HardwareAddr
}
