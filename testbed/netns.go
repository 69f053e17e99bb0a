package testbed

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where `ip netns add` bind-mounts named namespaces.
const NetnsDir = "/run/netns"

// nameRE limits short namespace names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// nsEntry is one namespace owned by a Bed.
type nsEntry struct {
	full string          // "<prefix>-<name>"
	path string          // NetnsDir/full
	ns   netns.NsHandle  // open fd, or netns.None()
	h    *netlink.Handle // NETLINK_ROUTE handle bound to ns, or nil
}

// Netns creates the named netns "<prefix>-<name>" with `ip netns add`,
// brings its lo up and returns its path, /run/netns/<prefix>-<name>. name is
// 1..32 characters of letters, digits, '_' and '-'. The namespace is tracked
// and deleted by Close. Errors: bad name, name already used by this bed,
// `ip netns add` failure (e.g. the namespace already exists), Bed closed.
func (b *Bed) Netns(name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("testbed %q: invalid netns name %q", b.prefix, name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", fmt.Errorf("testbed %q: closed", b.prefix)
	}
	if _, ok := b.nets[name]; ok {
		return "", fmt.Errorf("testbed %q: netns %q already created", b.prefix, name)
	}
	full := b.prefix + "-" + name
	e := &nsEntry{full: full, path: filepath.Join(NetnsDir, full), ns: netns.None()}
	if out, err := exec.Command("ip", "netns", "add", full).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add %s: %w: %s", full, err, strings.TrimSpace(string(out)))
	}
	b.nets[name] = e
	b.order = append(b.order, name)
	if err := e.open(); err != nil {
		return "", err
	}
	return e.path, nil
}

// open opens the namespace fd and netlink handle and sets lo up.
func (e *nsEntry) open() error {
	ns, err := netns.GetFromPath(e.path)
	if err != nil {
		return fmt.Errorf("netns %q: %w", e.path, err)
	}
	e.ns = ns
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netns %q: netlink handle: %w", e.path, err)
	}
	e.h = h
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("netns %q: set lo up: %w", e.path, err)
	}
	return nil
}

// remove closes the handles and deletes the namespace.
func (e *nsEntry) remove() error {
	if e.h != nil {
		e.h.Close()
		e.h = nil
	}
	if e.ns.IsOpen() {
		e.ns.Close()
		e.ns = netns.None()
	}
	out, err := exec.Command("ip", "netns", "del", e.full).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip netns del %s: %w: %s", e.full, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// entry returns the tracked namespace name or an error naming it.
func (b *Bed) entry(name string) (*nsEntry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("testbed %q: closed", b.prefix)
	}
	e, ok := b.nets[name]
	if !ok || e.h == nil {
		return nil, fmt.Errorf("testbed %q: %w: %q", b.prefix, ErrUnknownNetns, name)
	}
	return e, nil
}

// Names returns the short names of the bed's namespaces in creation order.
func (b *Bed) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.order)
}

// ErrUnknownNetns is wrapped when a method is given a namespace name that
// this Bed did not (successfully) create.
var ErrUnknownNetns = errors.New("unknown netns")

// Path returns /run/netns/<prefix>-<name> for a namespace created by Netns,
// or an error wrapping ErrUnknownNetns.
func (b *Bed) Path(name string) (string, error) {
	e, err := b.entry(name)
	if err != nil {
		return "", err
	}
	return e.path, nil
}

// Handle returns the netlink handle (NETLINK_ROUTE) bound to namespace name.
// It is cached and owned by the Bed: do not Close it; Close of the Bed does.
// Errors wrap ErrUnknownNetns.
func (b *Bed) Handle(name string) (*netlink.Handle, error) {
	e, err := b.entry(name)
	if err != nil {
		return nil, err
	}
	return e.h, nil
}

// NsHandle returns an open fd for namespace name (e.g. for
// endpoint.Create's hostNS). It is owned by the Bed: do not Close it.
// Errors wrap ErrUnknownNetns.
func (b *Bed) NsHandle(name string) (netns.NsHandle, error) {
	e, err := b.entry(name)
	if err != nil {
		return netns.None(), err
	}
	return e.ns, nil
}
