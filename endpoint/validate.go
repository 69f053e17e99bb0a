package endpoint

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// validate checks cfg and returns a copy with defaults applied. Errors name
// the offending field.
func validate(cfg Config) (Config, error) {
	if cfg.IfName == "" {
		cfg.IfName = DefaultIfName
	}
	if cfg.NetnsPath == "" {
		return cfg, fmt.Errorf("NetnsPath is empty")
	}
	if err := checkIfName(cfg.IfName); err != nil {
		return cfg, fmt.Errorf("IfName: %w", err)
	}
	if err := checkIfName(cfg.HostIfName); err != nil {
		return cfg, fmt.Errorf("HostIfName: %w", err)
	}
	if cfg.MTU < MinMTU || cfg.MTU > MaxMTU {
		return cfg, fmt.Errorf("MTU %d out of range %d..%d", cfg.MTU, MinMTU, MaxMTU)
	}
	if err := checkAddrs(cfg); err != nil {
		return cfg, err
	}
	if err := checkMAC(cfg.HostMAC); err != nil {
		return cfg, fmt.Errorf("HostMAC: %w", err)
	}
	if cfg.GSOIPv4MaxSize != 0 && (cfg.GSOIPv4MaxSize < LegacyGSOMaxSize || cfg.GSOIPv4MaxSize > maxGSOSize) {
		return cfg, fmt.Errorf("GSOIPv4MaxSize %d out of range %d..%d", cfg.GSOIPv4MaxSize, LegacyGSOMaxSize, maxGSOSize)
	}
	if cfg.ContainerMAC != nil {
		if err := checkMAC(cfg.ContainerMAC); err != nil {
			return cfg, fmt.Errorf("ContainerMAC: %w", err)
		}
	}
	return cfg, nil
}

// CheckIfName reports why name is not a valid interface name (the kernel's
// dev_valid_name rules), or nil.
func CheckIfName(name string) error { return checkIfName(name) }

// checkIfName enforces the kernel's dev_valid_name rules.
func checkIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > 15:
		return fmt.Errorf("interface name %q longer than 15 bytes", name)
	case name == "." || name == "..":
		return fmt.Errorf("invalid interface name %q", name)
	case strings.ContainsAny(name, "/: \t\n\r\f\v"):
		return fmt.Errorf("interface name %q contains '/', ':' or whitespace", name)
	}
	return nil
}

// checkAddrs validates Addr and Gateway.
func checkAddrs(cfg Config) error {
	a := cfg.Addr
	if !a.IsValid() || !a.Addr().Is4() {
		return fmt.Errorf("Addr %q is not an IPv4 prefix", a)
	}
	ip := a.Addr()
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || ip == broadcast4 {
		return fmt.Errorf("Addr %s is not a unicast address", a)
	}
	if !cfg.Gateway.IsValid() || !cfg.Gateway.Is4() {
		return fmt.Errorf("Gateway %q is not an IPv4 address", cfg.Gateway)
	}
	if !a.Masked().Contains(cfg.Gateway) {
		return fmt.Errorf("Gateway %s is outside Addr prefix %s", cfg.Gateway, a.Masked())
	}
	if cfg.Gateway == ip {
		return fmt.Errorf("Gateway %s equals Addr", cfg.Gateway)
	}
	return nil
}

// checkMAC requires a 6-byte, non-zero, unicast MAC.
func checkMAC(mac net.HardwareAddr) error {
	if len(mac) != 6 {
		return fmt.Errorf("MAC %q is not 6 bytes", mac.String())
	}
	if mac[0]&1 != 0 {
		return fmt.Errorf("MAC %s is multicast", mac)
	}
	if mac.String() == "00:00:00:00:00:00" {
		return fmt.Errorf("MAC is all zeros")
	}
	return nil
}

// broadcast4 is the limited broadcast address 255.255.255.255.
var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})
