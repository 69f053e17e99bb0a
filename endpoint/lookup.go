package endpoint

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Lookup returns the ifindex (> 0) of the host-side veth hostIfName in hostNS
// (netns.None() = the caller's current netns). If no such link exists the
// error wraps ErrNotFound; if the link exists but is not a veth, an error
// that does not wrap ErrNotFound is returned.
func Lookup(hostNS netns.NsHandle, hostIfName string) (int, error) {
	h, err := handleAt(hostNS, "host netns")
	if err != nil {
		return 0, err
	}
	defer h.Close()
	l, err := lookupVeth(h, hostIfName)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// lookupVeth finds hostIfName in h's namespace and checks it is a veth.
func lookupVeth(h *netlink.Handle, hostIfName string) (netlink.Link, error) {
	l, ok, err := linkExists(h, hostIfName)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", hostIfName, err)
	}
	if !ok {
		return nil, fmt.Errorf("endpoint %q: %w", hostIfName, ErrNotFound)
	}
	if l.Type() != "veth" {
		return nil, fmt.Errorf("endpoint %q: link is a %s, not a veth", hostIfName, l.Type())
	}
	return l, nil
}
