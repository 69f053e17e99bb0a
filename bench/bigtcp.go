package bench

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// ipv4GSO is one link's IPv4 GSO and GRO maximum sizes, in bytes, and the handle of its netns.
type ipv4GSO struct {
	h        *netlink.Handle
	link     netlink.Link
	gso, gro uint32
}

// bigTCPEverywhere raises gso_ipv4_max_size and gro_ipv4_max_size of every link but lo in
// every namespace of bed to endpoint.BigTCPIPv4MaxSize, each clamped to what the device can
// segment (a kernel VXLAN device stays at 64 KiB): BIG TCP on every device of a topology, as
// `ip link set DEV gso_ipv4_max_size 196608 gro_ipv4_max_size 196608` would. It returns a
// function that restores every size it changed (ebpfnet's container veths are at 192 KiB
// already and stay there).
func bigTCPEverywhere(bed *testbed.Bed) (restore func() error, err error) {
	var changed []ipv4GSO
	restore = func() error {
		var errs []error
		for _, c := range changed {
			errs = append(errs, c.h.LinkSetGSOIPv4MaxSize(c.link, int(c.gso)), c.h.LinkSetGROIPv4MaxSize(c.link, int(c.gro)))
		}
		return errors.Join(errs...)
	}
	for _, ns := range bed.Names() {
		h, err := bed.Handle(ns)
		if err != nil {
			return restore, err
		}
		links, err := h.LinkList()
		if err != nil {
			return restore, fmt.Errorf("netns %s: list links: %w", ns, err)
		}
		for _, l := range links {
			a := l.Attrs()
			if a.Flags&net.FlagLoopback != 0 || a.GSOIPv4MaxSize >= endpoint.BigTCPIPv4MaxSize {
				continue
			}
			prev := ipv4GSO{h: h, link: l, gso: a.GSOIPv4MaxSize, gro: a.GROIPv4MaxSize}
			got, err := endpoint.RaiseBigTCPIPv4(h, l, endpoint.BigTCPIPv4MaxSize)
			if err != nil {
				return restore, fmt.Errorf("netns %s: %w", ns, err)
			}
			if got != prev.gso {
				changed = append(changed, prev)
			}
		}
	}
	return restore, nil
}
