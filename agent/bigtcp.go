package agent

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/endpoint"
)

// setupBigTCP decides the IPv4 GSO/GRO size of new container veths (BIG TCP for IPv4,
// Cilium's enable-ipv4-big-tcp). Container packets above 64 KiB leave through the underlay
// when they go to another host, and a device whose gso_ipv4_max_size is smaller segments
// them in software, which costs more than BIG TCP saves; so, like Cilium, the veths get
// BIG TCP only when the underlay carries it. With BigTCPUnderlay the agent raises the
// underlay to endpoint.BigTCPIPv4MaxSize first (clamped to what the device can segment), as
// it sets the underlay's forwarding sysctl; without it the underlay is left as it is. A
// kernel without gso_ipv4_max_size (before Linux 6.3) or an underlay at 64 KiB falls back to
// 64 KiB with a log line. It sets a.gsoMaxSize (0 = kernel default).
func (a *Agent) setupBigTCP() error {
	if !a.cfg.BigTCP {
		return nil
	}
	ul, err := netlink.LinkByName(a.cfg.UnderlayDev)
	if err != nil {
		return fmt.Errorf("underlay device %q: %w", a.cfg.UnderlayDev, err)
	}
	if !endpoint.KernelHasBigTCPIPv4(ul) {
		a.log.Warn("BIG TCP for IPv4 unavailable: this kernel has no gso_ipv4_max_size (Linux >= 6.3); container veths keep 64 KiB GSO")
		return nil
	}
	size := ul.Attrs().GSOIPv4MaxSize
	if a.cfg.BigTCPUnderlay {
		h, err := netlink.NewHandle()
		if err != nil {
			return fmt.Errorf("netlink handle: %w", err)
		}
		defer h.Close()
		if size, err = endpoint.RaiseBigTCPIPv4(h, ul, endpoint.BigTCPIPv4MaxSize); err != nil {
			return fmt.Errorf("BIG TCP on the underlay: %w", err)
		}
	}
	if size <= endpoint.LegacyGSOMaxSize {
		a.log.Warn("BIG TCP for IPv4 off: the underlay carries GSO packets of at most 64 KiB; container veths keep 64 KiB GSO",
			"dev", a.cfg.UnderlayDev, "gsoIPv4MaxSize", size, "tsoMaxSize", ul.Attrs().TSOMaxSize, "raise", a.cfg.BigTCPUnderlay)
		return nil
	}
	a.gsoMaxSize = min(size, endpoint.BigTCPIPv4MaxSize)
	a.log.Info("BIG TCP for IPv4", "underlay", a.cfg.UnderlayDev, "underlayGSOIPv4MaxSize", size, "vethGSOIPv4MaxSize", a.gsoMaxSize)
	return nil
}
