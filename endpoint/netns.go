package endpoint

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// openNetns opens the network namespace at path. Errors look like
// `netns "/var/run/netns/x": no such file or directory` or
// `netns "/tmp/f": not a namespace file`.
func openNetns(path string) (netns.NsHandle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return netns.None(), fmt.Errorf("netns %q: %w", path, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(ns), &st); err != nil {
		ns.Close()
		return netns.None(), fmt.Errorf("netns %q: statfs: %w", path, err)
	}
	if st.Type != unix.NSFS_MAGIC {
		ns.Close()
		return netns.None(), fmt.Errorf("netns %q: not a namespace file", path)
	}
	return ns, nil
}

// handleAt returns a NETLINK_ROUTE handle bound to ns; what names the
// namespace in errors (e.g. "host netns"). netns.None() means the calling
// thread's current namespace.
func handleAt(ns netns.NsHandle, what string) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", what, err)
	}
	return h, nil
}

// linkExists reports whether a link called name exists in h's namespace.
func linkExists(h *netlink.Handle, name string) (netlink.Link, bool, error) {
	l, err := h.LinkByName(name)
	if err == nil {
		return l, true, nil
	}
	if isNotFound(err) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("look up link %q: %w", name, err)
}

// isNotFound reports whether err is netlink's "link not found".
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
