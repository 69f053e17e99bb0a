package wireguard

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// errNoKernelWireGuard is wrapped when the kernel refuses the `wireguard` link type.
var errNoKernelWireGuard = errors.New("kernel has no WireGuard (module missing)")

// createKernel creates the kernel's `wireguard` link name with mtu (0 = kernel default).
// Errors wrap errNoKernelWireGuard when the link type is unknown (EOPNOTSUPP from rtnetlink).
func createKernel(name string, mtu int) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = name, mtu
	err := netlink.LinkAdd(&netlink.Wireguard{LinkAttrs: attrs})
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("create WireGuard device %s: %w: %v", name, errNoKernelWireGuard, err)
	}
	if err != nil {
		return fmt.Errorf("create WireGuard device %s: %w", name, err)
	}
	return nil
}
