package agent

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/endpoint"
)

// setupBigTCP decides the IPv4 GSO/GRO size of new container veths (BIG TCP, Cilium's
// enable-ipv4-big-tcp) and, with --big-tcp-underlay, raises the underlay device to it where
// the device can segment that much. A kernel without gso_ipv4_max_size (before Linux 6.3)
// falls back to 64 KiB with a log line. It sets a.gsoMaxSize (0 = kernel default).
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
	a.gsoMaxSize = endpoint.BigTCPIPv4MaxSize
	a.log.Info("BIG TCP for IPv4 on new container veths", "gsoIPv4MaxSize", a.gsoMaxSize)
	if !a.cfg.BigTCPUnderlay {
		return nil
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()
	got, err := endpoint.RaiseBigTCPIPv4(h, ul, a.gsoMaxSize)
	if err != nil {
		return fmt.Errorf("BIG TCP on the underlay: %w", err)
	}
	if got <= 65536 {
		a.log.Warn("BIG TCP for IPv4 not raised on the underlay: the device cannot segment more than 64 KiB",
			"dev", a.cfg.UnderlayDev, "tsoMaxSize", ul.Attrs().TSOMaxSize)
		return nil
	}
	a.log.Info("BIG TCP for IPv4 on the underlay", "dev", a.cfg.UnderlayDev, "gsoIPv4MaxSize", got)
	return nil
}
