package loader

import (
	"fmt"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
)

// XDPMode is how the XDP program is attached to the underlay device.
type XDPMode string

// XDP attach modes (`--xdp-mode`). Native runs in the driver before an skb exists (veth,
// most physical NICs); generic runs after skb allocation on any device (XDP_FLAGS_SKB_MODE,
// include/uapi/linux/if_link.h), slower but the same program; off attaches nothing and the
// tc program enforces the prefilter; auto is the agent's choice of native or off by the
// underlay's driver.
const (
	XDPNative  XDPMode = "native"
	XDPGeneric XDPMode = "generic"
	XDPOff     XDPMode = "off"
	XDPAuto    XDPMode = "auto"
)

// ParseXDPMode checks s ("auto", "native", "generic" or "off").
func ParseXDPMode(s string) (XDPMode, error) {
	switch m := XDPMode(s); m {
	case XDPAuto, XDPNative, XDPGeneric, XDPOff:
		return m, nil
	}
	return "", fmt.Errorf("XDP mode %q: want auto, native, generic or off", s)
}

func (m XDPMode) flags() link.XDPAttachFlags {
	if m == XDPGeneric {
		return link.XDPGenericMode
	}
	return link.XDPDriverMode
}

// AttachXDP attaches xdp_underlay to the underlay device ifName (ifindex) in mode (native or
// generic) through a bpf_link pinned as links/xdp-<ifName>, and returns the mode in force.
// A pinned link on the same device whose attach mode is the one wanted, or native was wanted and
// the device fell back to generic before, gets the new program atomically (BPF_LINK_UPDATE); any
// other is replaced. Native mode falls back to generic where the driver has no native XDP
// (the returned mode says so; the caller warns).
func (d *Datapath) AttachXDP(ifName string, ifindex int, mode XDPMode) (XDPMode, error) {
	if mode != XDPNative && mode != XDPGeneric {
		return "", fmt.Errorf("attach XDP to %s: mode %q: want native or generic", ifName, mode)
	}
	path := d.linkPath("xdp-" + ifName)
	if cur := XDPAttachMode(ifindex); cur == mode || (mode == XDPNative && cur == XDPGeneric) {
		if done, err := updatePinned(path, d.objs.XdpUnderlay, ifindex); done || err != nil {
			return cur, err
		}
	}
	if err := d.DetachXDP(ifName); err != nil {
		return "", err
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: d.objs.XdpUnderlay, Interface: ifindex, Flags: mode.flags()})
	if err != nil && mode == XDPNative {
		mode = XDPGeneric
		l, err = link.AttachXDP(link.XDPOptions{Program: d.objs.XdpUnderlay, Interface: ifindex, Flags: mode.flags()})
	}
	if err != nil {
		return "", fmt.Errorf("attach XDP (%s) to %s (ifindex %d): %w", mode, ifName, ifindex, err)
	}
	defer l.Close()
	if err := l.Pin(path); err != nil {
		return "", fmt.Errorf("pin link %s: %w", path, err)
	}
	return mode, nil
}

// DetachXDP removes the XDP program from the underlay device ifName (unpins its link, which
// detaches it once no process holds it); no attachment is not an error.
func (d *Datapath) DetachXDP(ifName string) error {
	_, err := unpinLink(d.linkPath("xdp-" + ifName))
	return err
}

// XDPAttachMode is the mode of the XDP program the kernel has on device ifindex (netlink
// IFLA_XDP_ATTACHED), XDPOff when none is attached or the device is gone.
func XDPAttachMode(ifindex int) XDPMode {
	l, err := netlink.LinkByIndex(ifindex)
	if err != nil || l.Attrs().Xdp == nil || !l.Attrs().Xdp.Attached {
		return XDPOff
	}
	switch l.Attrs().Xdp.AttachMode {
	case 1: // XDP_ATTACHED_DRV (include/uapi/linux/if_link.h)
		return XDPNative
	case 2: // XDP_ATTACHED_SKB
		return XDPGeneric
	}
	return XDPMode(fmt.Sprintf("mode %d", l.Attrs().Xdp.AttachMode))
}
