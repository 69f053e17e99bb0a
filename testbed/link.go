package testbed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Link connects namespaces a and bns (both created by Netns; they may be
// the same) with a veth pair: ifA in a with address aAddr, ifB in bns with
// bAddr. A zero netip.Prefix means "no address". mtu is in bytes and applies
// to both ends; 0 keeps the kernel default (1500), otherwise 68..65535. Both
// ends are brought up. On failure the pair is deleted again; errors name the
// namespace and step.
func (b *Bed) Link(a, ifA string, aAddr netip.Prefix, bns, ifB string, bAddr netip.Prefix, mtu int) error {
	if mtu != 0 && (mtu < 68 || mtu > 65535) {
		return fmt.Errorf("testbed link %s/%s-%s/%s: MTU %d out of range 68..65535", a, ifA, bns, ifB, mtu)
	}
	ea, err := b.entry(a)
	if err != nil {
		return err
	}
	eb, err := b.entry(bns)
	if err != nil {
		return err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.NewLinkAttrs(), PeerName: ifB, PeerMTU: uint32(mtu)}
	veth.Name, veth.MTU = ifA, mtu
	if ea != eb {
		veth.PeerNamespace = netlink.NsFd(int(eb.ns))
	}
	if err := ea.h.LinkAdd(veth); err != nil {
		return fmt.Errorf("testbed link %s/%s-%s/%s: create veth: %w", a, ifA, bns, ifB, err)
	}
	err = errors.Join(
		configure(ea, ifA, aAddr),
		configure(eb, ifB, bAddr),
	)
	if err != nil {
		if derr := ea.h.LinkDel(veth); derr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: delete %s: %w", ifA, derr))
		}
		return fmt.Errorf("testbed link %s/%s-%s/%s: %w", a, ifA, bns, ifB, err)
	}
	return nil
}

// configure adds addr (if valid) to ifName in e and sets it up.
func configure(e *nsEntry, ifName string, addr netip.Prefix) error {
	l, err := e.h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("netns %q: find %s: %w", e.full, ifName, err)
	}
	if addr.IsValid() {
		if err := e.h.AddrAdd(l, &netlink.Addr{IPNet: prefixToIPNet(addr)}); err != nil {
			return fmt.Errorf("netns %q: add %s to %s: %w", e.full, addr, ifName, err)
		}
	}
	if err := e.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("netns %q: set %s up: %w", e.full, ifName, err)
	}
	return nil
}

// Route adds a route to dst via gateway gw in namespace ns (gw must be
// on-link there). For a default route use dst 0.0.0.0/0 (or ::/0).
func (b *Bed) Route(ns string, dst netip.Prefix, gw netip.Addr) error {
	e, err := b.entry(ns)
	if err != nil {
		return err
	}
	if !dst.IsValid() || !gw.IsValid() {
		return fmt.Errorf("netns %q: route %s via %s: invalid destination or gateway", e.full, dst, gw)
	}
	r := &netlink.Route{Dst: prefixToIPNet(dst.Masked()), Gw: gw.AsSlice()}
	if err := e.h.RouteAdd(r); err != nil {
		return fmt.Errorf("netns %q: route %s via %s: %w", e.full, dst, gw, err)
	}
	return nil
}

// prefixToIPNet converts p (address kept, not masked) to a *net.IPNet.
func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
