package endpoint

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// configureContainer finishes the container side via ctr (a handle in the
// container netns): renames tmpName to cfg.IfName (MTU and MAC were set at
// creation), brings lo and the interface up, adds cfg.Addr and (unless
// cfg.NoDefaultRoute) a default route via cfg.Gateway. It returns the interface's actual MAC. On error the
// caller deletes the pair.
func configureContainer(ctr *netlink.Handle, cfg Config, tmpName string) (net.HardwareAddr, error) {
	l, err := ctr.LinkByName(tmpName)
	if err != nil {
		return nil, fmt.Errorf("find peer %q: %w", tmpName, err)
	}
	if err := ctr.LinkSetName(l, cfg.IfName); err != nil {
		return nil, fmt.Errorf("rename peer %q to %q: %w", tmpName, cfg.IfName, err)
	}
	if err := setLoUp(ctr); err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{
		IP:   cfg.Addr.Addr().AsSlice(),
		Mask: net.CIDRMask(cfg.Addr.Bits(), 32),
	}}
	if err := ctr.AddrAdd(l, addr); err != nil {
		return nil, fmt.Errorf("add address %s to %q: %w", cfg.Addr, cfg.IfName, err)
	}
	if err := ctr.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("set %q up: %w", cfg.IfName, err)
	}
	route := &netlink.Route{
		LinkIndex: l.Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		Gw:        cfg.Gateway.AsSlice(),
	}
	if !cfg.NoDefaultRoute {
		if err := ctr.RouteAdd(route); err != nil {
			return nil, fmt.Errorf("add default route via %s dev %q: %w", cfg.Gateway, cfg.IfName, err)
		}
	}
	fresh, err := ctr.LinkByIndex(l.Attrs().Index)
	if err != nil {
		return nil, fmt.Errorf("re-read %q: %w", cfg.IfName, err)
	}
	return fresh.Attrs().HardwareAddr, nil
}

// setLoUp brings the container's loopback up.
func setLoUp(ctr *netlink.Handle) error {
	lo, err := ctr.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := ctr.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
