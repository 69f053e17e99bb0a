package endpoint

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Delete removes the host-side veth hostIfName from hostNS (netns.None() =
// the caller's current netns); the container-side peer is destroyed with it.
// Deleting a missing link returns nil. A link of that name that is not a veth
// is left alone and reported as an error, so a typo cannot delete e.g. a
// physical NIC.
func Delete(hostNS netns.NsHandle, hostIfName string) error {
	if err := checkIfName(hostIfName); err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	h, err := handleAt(hostNS, "host netns")
	if err != nil {
		return fmt.Errorf("delete endpoint %q: %w", hostIfName, err)
	}
	defer h.Close()
	l, err := lookupVeth(h, hostIfName)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %w", err)
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete endpoint %q: %w", hostIfName, err)
	}
	return nil
}
