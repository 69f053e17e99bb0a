package endpoint

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Create makes the endpoint described by cfg and returns what it made.
//
// The host-side veth cfg.HostIfName is created in hostNS (netns.None() = the
// caller's current netns) with cfg.HostMAC and cfg.MTU and brought up. Its
// peer is created directly in the container netns (cfg.NetnsPath) under a
// temporary name, then renamed to cfg.IfName, given cfg.MTU (and
// cfg.ContainerMAC if set), cfg.Addr, brought up, and given a default route
// via cfg.Gateway. The container's lo is brought up too. With cfg.GSOIPv4MaxSize both ends
// get that IPv4 GSO/GRO size (BIG TCP). No sysctl is touched.
//
// Errors are wrapped with the endpoint and step, e.g.
// `endpoint "lxc…": netns "/var/run/netns/x": no such file or directory`.
// Create fails without creating anything when the config is invalid, the
// netns path is missing or not a netns, it is the host netns itself,
// cfg.IfName already exists in the container or cfg.HostIfName already
// exists on the host. If a later step fails, the veth pair is deleted again
// (rollback), so nothing is left behind.
func Create(hostNS netns.NsHandle, cfg Config) (Result, error) {
	cfg, err := validate(cfg)
	if err != nil {
		return Result{}, fmt.Errorf("endpoint %q: invalid config: %w", cfg.HostIfName, err)
	}
	res, err := create(hostNS, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("endpoint %q: %w", cfg.HostIfName, err)
	}
	return res, nil
}

// create does the work of Create on a validated cfg; errors are unwrapped
// by endpoint name.
func create(hostNS netns.NsHandle, cfg Config) (res Result, err error) {
	ctrNS, err := openNetns(cfg.NetnsPath)
	if err != nil {
		return Result{}, err
	}
	defer ctrNS.Close()
	if same, err := sameNetns(hostNS, ctrNS); err != nil {
		return Result{}, err
	} else if same {
		return Result{}, fmt.Errorf("netns %q is the host netns", cfg.NetnsPath)
	}
	host, err := handleAt(hostNS, "host netns")
	if err != nil {
		return Result{}, err
	}
	defer host.Close()
	ctr, err := handleAt(ctrNS, fmt.Sprintf("netns %q", cfg.NetnsPath))
	if err != nil {
		return Result{}, err
	}
	defer ctr.Close()

	if err := checkFree(host, ctr, cfg); err != nil {
		return Result{}, err
	}
	tmpName, err := tempIfName()
	if err != nil {
		return Result{}, err
	}
	hostLink, err := addVeth(host, ctrNS, cfg, tmpName)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if err != nil {
			if derr := host.LinkDel(hostLink); derr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: delete host veth: %w", derr))
			}
		}
	}()
	mac, err := configureContainer(ctr, cfg, tmpName)
	if err != nil {
		return Result{}, fmt.Errorf("netns %q: %w", cfg.NetnsPath, err)
	}
	if err := host.LinkSetUp(hostLink); err != nil {
		return Result{}, fmt.Errorf("set host veth up: %w", err)
	}
	gso, err := raiseVethBigTCP(host, ctr, cfg)
	if err != nil {
		return Result{}, err
	}
	return Result{
		HostIfName:     cfg.HostIfName,
		HostIfIndex:    hostLink.Attrs().Index,
		ContainerMAC:   mac,
		GSOIPv4MaxSize: gso,
	}, nil
}

// checkFree fails if cfg.HostIfName exists on the host or cfg.IfName exists
// in the container.
func checkFree(host, ctr *netlink.Handle, cfg Config) error {
	if _, ok, err := linkExists(host, cfg.HostIfName); err != nil {
		return fmt.Errorf("host netns: %w", err)
	} else if ok {
		return fmt.Errorf("host netns: link %q already exists", cfg.HostIfName)
	}
	if _, ok, err := linkExists(ctr, cfg.IfName); err != nil {
		return fmt.Errorf("netns %q: %w", cfg.NetnsPath, err)
	} else if ok {
		return fmt.Errorf("netns %q: link %q already exists", cfg.NetnsPath, cfg.IfName)
	}
	return nil
}

// addVeth creates the pair: host side in host's namespace, peer tmpName in
// ctrNS. It returns the host-side link as re-read from the kernel.
func addVeth(host *netlink.Handle, ctrNS netns.NsHandle, cfg Config, tmpName string) (netlink.Link, error) {
	veth := &netlink.Veth{
		LinkAttrs:        netlink.NewLinkAttrs(),
		PeerName:         tmpName,
		PeerNamespace:    netlink.NsFd(int(ctrNS)),
		PeerMTU:          uint32(cfg.MTU),
		PeerHardwareAddr: cfg.ContainerMAC,
	}
	veth.Name = cfg.HostIfName
	veth.MTU = cfg.MTU
	veth.HardwareAddr = cfg.HostMAC
	if err := host.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("create veth %q (peer %q in container): %w", cfg.HostIfName, tmpName, err)
	}
	l, err := host.LinkByName(cfg.HostIfName)
	if err != nil {
		// Best effort: we just created it, so it is ours to remove.
		_ = host.LinkDel(veth)
		return nil, fmt.Errorf("re-read host veth: %w", err)
	}
	return l, nil
}

// tempIfName returns a random 15-byte interface name "tmp" + 12 hex chars,
// used for the peer until it is renamed in the container.
func tempIfName() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random peer name: %w", err)
	}
	return "tmp" + hex.EncodeToString(b[:]), nil
}

// sameNetns reports whether a and b refer to the same namespace; a may be
// netns.None() (the caller's current netns).
func sameNetns(a, b netns.NsHandle) (bool, error) {
	if !a.IsOpen() {
		cur, err := netns.Get()
		if err != nil {
			return false, fmt.Errorf("get current netns: %w", err)
		}
		defer cur.Close()
		a = cur
	}
	return a.Equal(b), nil
}
