package loader

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Legacy attachment for kernels without tcx (before 6.6): a clsact qdisc and one
// direct-action BPF filter at ingress, the layout Cilium used before tcx. The filter holds its
// own program reference, so it too survives the agent; replacing it is atomic.

const legacyPrio, legacyHandle = 1, 1

func legacyFilter(ifindex int) *netlink.BpfFilter {
	return &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: ifindex,
			Parent:    netlink.HANDLE_MIN_INGRESS,
			Handle:    legacyHandle,
			Protocol:  unix.ETH_P_ALL,
			Priority:  legacyPrio,
		},
		DirectAction: true,
	}
}

func attachLegacy(prog *ebpf.Program, ifindex int) error {
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT},
		QdiscType:  "clsact",
	}
	if err := netlink.QdiscReplace(qdisc); err != nil {
		return fmt.Errorf("add clsact qdisc to ifindex %d: %w", ifindex, err)
	}
	f := legacyFilter(ifindex)
	f.Fd = prog.FD()
	f.Name = "ebpfnet"
	if err := netlink.FilterReplace(f); err != nil {
		return fmt.Errorf("add tc ingress filter to ifindex %d: %w", ifindex, err)
	}
	return nil
}

func detachLegacy(ifindex int) error {
	if ifindex <= 0 {
		return nil
	}
	err := netlink.FilterDel(legacyFilter(ifindex))
	if err == nil || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) {
		return nil
	}
	return fmt.Errorf("delete tc ingress filter from ifindex %d: %w", ifindex, err)
}
