package cni

import (
	"errors"
	"net"
	"net/netip"
	"os"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// prevResult returns the config's prevResult as a current result; CHECK needs one.
func prevResult(conf *NetConf) (*current.Result, error) {
	if err := version.ParsePrevResult(&conf.PluginConf); err != nil {
		return nil, decodeError("prevResult: %v", err)
	}
	if conf.PrevResult == nil {
		return nil, configError("CHECK needs a prevResult in the network config")
	}
	prev, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, decodeError("prevResult: %v", err)
	}
	return prev, nil
}

// prevAddress is the IPv4 address prevResult gives the container interface ifName.
func prevAddress(prev *current.Result, ifName string) (netip.Prefix, error) {
	for _, ipc := range prev.IPs {
		if ipc.Interface == nil || *ipc.Interface < 0 || *ipc.Interface >= len(prev.Interfaces) {
			continue
		}
		if iface := prev.Interfaces[*ipc.Interface]; iface.Name != ifName || iface.Sandbox == "" {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipc.Address.IP)
		ones, _ := ipc.Address.Mask.Size()
		if ok && ip.Unmap().Is4() {
			return netip.PrefixFrom(ip.Unmap(), ones), nil
		}
	}
	return netip.Prefix{}, configError("prevResult has no IPv4 address for container interface %s", ifName)
}

// prevDefaultGateway is the gateway of prevResult's default route; the zero Addr when it has
// none (a container's further interface, see result).
func prevDefaultGateway(prev *current.Result) netip.Addr {
	for _, r := range prev.Routes {
		if ones, _ := r.Dst.Mask.Size(); ones == 0 {
			gw, _ := netip.AddrFromSlice(r.GW.To4())
			return gw
		}
	}
	return netip.Addr{}
}

// checkContainer verifies, inside the container netns, that ifName is up, carries want and,
// when gw is valid, has a default route via gw.
func checkContainer(nsPath, ifName string, want netip.Prefix, gw netip.Addr) error {
	ns, err := netns.GetFromPath(nsPath)
	if errors.Is(err, os.ErrNotExist) {
		return newError(types.ErrUnknownContainer, "CHECK: container netns %q does not exist", nsPath)
	}
	if err != nil {
		return internalError("CHECK: open netns %q: %v", nsPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return internalError("CHECK: netlink in netns %q: %v", nsPath, err)
	}
	defer h.Close()
	l, err := h.LinkByName(ifName)
	if err != nil {
		return internalError("CHECK: interface %s in netns %q: %v", ifName, nsPath, err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		return internalError("CHECK: interface %s in netns %q is down", ifName, nsPath)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return internalError("CHECK: addresses of %s: %v", ifName, err)
	}
	found := false
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		found = found || netip.PrefixFrom(ip, ones) == want
	}
	if !found {
		return internalError("CHECK: interface %s in netns %q does not have address %s", ifName, nsPath, want)
	}
	if !gw.IsValid() {
		return nil
	}
	routes, err := h.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return internalError("CHECK: routes of %s: %v", ifName, err)
	}
	for _, r := range routes {
		isDefault := r.Dst == nil || r.Dst.String() == "0.0.0.0/0"
		if isDefault && r.Gw.Equal(net.IP(gw.AsSlice())) {
			return nil
		}
	}
	return internalError("CHECK: netns %q has no default route via %s dev %s", nsPath, gw, ifName)
}
