package endpoint

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// BigTCPIPv4MaxSize is the GSO/GRO size, in bytes, that BIG TCP for IPv4 raises a device to:
// 192 KiB, Cilium's default (pkg/datapath/linux/bigtcp, enable-ipv4-big-tcp). The kernel
// default and the limit without BIG TCP is 64 KiB (GSO_LEGACY_MAX_SIZE, 65536).
const BigTCPIPv4MaxSize = 196608

// LegacyGSOMaxSize is the kernel's GSO_LEGACY_MAX_SIZE (include/linux/netdevice.h).
const LegacyGSOMaxSize = 65536

// KernelHasBigTCPIPv4 reports whether the kernel knows gso_ipv4_max_size (Linux >= 6.3): it
// then reports a nonzero IFLA_GSO_IPV4_MAX_SIZE for every link, l included.
func KernelHasBigTCPIPv4(l netlink.Link) bool { return l.Attrs().GSOIPv4MaxSize != 0 }

// RaiseBigTCPIPv4 sets gso_ipv4_max_size and gro_ipv4_max_size of link (in h's netns) to
// size bytes, clamped to what the device can segment (its tso_max_size), and reads them
// back. It returns the GSO size now in force; a result of 64 KiB or less means the device
// (or the kernel, before 6.3) cannot do BIG TCP and nothing was changed. Errors are
// netlink's, wrapped with the link's name.
func RaiseBigTCPIPv4(h *netlink.Handle, link netlink.Link, size uint32) (uint32, error) {
	name := link.Attrs().Name
	if !KernelHasBigTCPIPv4(link) {
		return 0, nil
	}
	if tso := link.Attrs().TSOMaxSize; tso != 0 && size > tso {
		size = tso
	}
	if size <= LegacyGSOMaxSize {
		return link.Attrs().GSOIPv4MaxSize, nil
	}
	if err := h.LinkSetGSOIPv4MaxSize(link, int(size)); err != nil {
		return 0, fmt.Errorf("%s: set gso_ipv4_max_size %d: %w", name, size, err)
	}
	if err := h.LinkSetGROIPv4MaxSize(link, int(size)); err != nil {
		return 0, fmt.Errorf("%s: set gro_ipv4_max_size %d: %w", name, size, err)
	}
	fresh, err := h.LinkByIndex(link.Attrs().Index)
	if err != nil {
		return 0, fmt.Errorf("%s: re-read: %w", name, err)
	}
	return fresh.Attrs().GSOIPv4MaxSize, nil
}

// maxGSOSize is the kernel's GSO_MAX_SIZE on 64-bit (8 * 65535, include/linux/netdevice.h),
// the veth driver's tso_max_size.
const maxGSOSize = 524280

// raiseVethBigTCP applies cfg.GSOIPv4MaxSize to both ends of the new pair (host side via
// host, container side via ctr) and returns the container side's gso_ipv4_max_size in
// force. With GSOIPv4MaxSize 0 it only reads that size.
func raiseVethBigTCP(host, ctr *netlink.Handle, cfg Config) (uint32, error) {
	peer, err := ctr.LinkByName(cfg.IfName)
	if err != nil {
		return 0, fmt.Errorf("netns %q: re-read %q: %w", cfg.NetnsPath, cfg.IfName, err)
	}
	if cfg.GSOIPv4MaxSize == 0 {
		return peer.Attrs().GSOIPv4MaxSize, nil
	}
	hostLink, err := host.LinkByName(cfg.HostIfName)
	if err != nil {
		return 0, fmt.Errorf("re-read host veth: %w", err)
	}
	if _, err := RaiseBigTCPIPv4(host, hostLink, cfg.GSOIPv4MaxSize); err != nil {
		return 0, fmt.Errorf("BIG TCP on host veth: %w", err)
	}
	gso, err := RaiseBigTCPIPv4(ctr, peer, cfg.GSOIPv4MaxSize)
	if err != nil {
		return 0, fmt.Errorf("netns %q: BIG TCP: %w", cfg.NetnsPath, err)
	}
	return gso, nil
}
