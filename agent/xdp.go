package agent

import (
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/loader"
)

// attachXDP puts the underlay's XDP program in the mode of --xdp-mode: native (generic, with a
// warning, where the driver has no native XDP) or generic, attached before the tc prefilter is
// turned off; off turns the tc prefilter on before the XDP program is removed, so the deny
// list is enforced throughout.
func (a *Agent) attachXDP(ifindex int) error {
	mode := loader.XDPMode(a.cfg.XDPMode)
	if mode == loader.XDPOff {
		if err := a.maps.Prefilter.SetTC(true); err != nil {
			return err
		}
		return a.dp.DetachXDP(a.cfg.UnderlayDev)
	}
	got, err := a.dp.AttachXDP(a.cfg.UnderlayDev, ifindex, mode)
	if err != nil {
		return err
	}
	if got != mode {
		a.log.Warn("the underlay's driver has no native XDP: attached in generic mode", "device", a.cfg.UnderlayDev, "mode", got)
	}
	return a.maps.Prefilter.SetTC(false)
}

// xdpStatus is the XDP part of `ebpfnet status`: the kernel's attach mode of the underlay, the
// tc prefilter and the size of the deny list. Callers hold a.mu.
func (a *Agent) xdpStatus(ifindex int) (api.XDPStatus, error) {
	st := api.XDPStatus{Requested: a.cfg.XDPMode, Mode: string(loader.XDPAttachMode(ifindex))}
	st.Attached = st.Mode != string(loader.XDPOff)
	var err error
	if st.TCPrefilter, err = a.maps.Prefilter.TC(); err != nil {
		return st, err
	}
	pfxs, err := a.maps.Prefilter.List()
	st.Prefixes = len(pfxs)
	return st, err
}
