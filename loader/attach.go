package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

const linksDir = "links"

// AttachContainer attaches from_container to tcx ingress of the host-side veth ifName
// (ifindex in the current netns) and pins the link as links/<ifName>. Idempotent: an existing
// pinned link on the same ifindex gets the newly loaded program atomically (no packet sees no
// program); a stale one (device gone or recreated) is replaced.
func (d *Datapath) AttachContainer(ifName string, ifindex int) error {
	return d.attach(d.objs.FromContainer, ifName, ifindex)
}

// AttachOverlay attaches from_overlay (VXLAN decapsulation) to tcx ingress of the underlay
// device, pinned as links/overlay-<ifName>.
func (d *Datapath) AttachOverlay(ifName string, ifindex int) error {
	return d.attach(d.objs.FromOverlay, "overlay-"+ifName, ifindex)
}

// AttachHost attaches from_host (the host's own connections to published ports) to tcx
// ingress of the loopback device, pinned as links/host-lo.
func (d *Datapath) AttachHost(ifindex int) error {
	return d.attach(d.objs.FromHost, "host-lo", ifindex)
}

// AttachWireGuard attaches from_wireguard (decapsulation of decrypted VXLAN) to tcx ingress of
// the WireGuard device ifName, pinned as links/wireguard-<ifName>. Upgrades in place like the
// others.
func (d *Datapath) AttachWireGuard(ifName string, ifindex int) error {
	return d.attach(d.objs.FromWireguard, "wireguard-"+ifName, ifindex)
}

// DetachWireGuard removes the program from the WireGuard device ifName.
func (d *Datapath) DetachWireGuard(ifName string, ifindex int) error {
	return d.detach("wireguard-"+ifName, ifindex)
}

// DetachContainer removes the program from the host-side veth ifName; a missing attachment is
// not an error.
func (d *Datapath) DetachContainer(ifName string, ifindex int) error {
	return d.detach(ifName, ifindex)
}

// DetachOverlay removes the program from the underlay device ifName.
func (d *Datapath) DetachOverlay(ifName string, ifindex int) error {
	return d.detach("overlay-"+ifName, ifindex)
}

func (d *Datapath) linkPath(name string) string {
	return filepath.Join(d.pinDir, linksDir, name)
}

func (d *Datapath) attach(prog *ebpf.Program, name string, ifindex int) error {
	if ifindex <= 0 {
		return fmt.Errorf("attach %s: invalid ifindex %d", name, ifindex)
	}
	if d.legacyTC {
		return attachLegacy(prog, ifindex)
	}
	path := d.linkPath(name)
	if done, err := updatePinned(path, prog, ifindex); done || err != nil {
		return err
	}
	l, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: prog, Attach: ebpf.AttachTCXIngress})
	if errors.Is(err, ebpf.ErrNotSupported) {
		return attachLegacy(prog, ifindex)
	}
	if err != nil {
		return fmt.Errorf("attach tcx ingress to %s (ifindex %d): %w", name, ifindex, err)
	}
	defer l.Close()
	if err := l.Pin(path); err != nil {
		return fmt.Errorf("pin link %s: %w", path, err)
	}
	return nil
}

// updatePinned swaps prog into the link pinned at path when it is attached to ifindex; it
// reports done=false when there is no usable pinned link (after unpinning a stale one).
func updatePinned(path string, prog *ebpf.Program, ifindex int) (bool, error) {
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load pinned link %s: %w", path, err)
	}
	defer l.Close()
	if info, err := l.Info(); err == nil && linkIfindex(info) == ifindex {
		if err := l.Update(prog); err != nil {
			return false, fmt.Errorf("update pinned link %s: %w", path, err)
		}
		return true, nil
	}
	if err := l.Unpin(); err != nil {
		return false, fmt.Errorf("unpin stale link %s: %w", path, err)
	}
	return false, nil
}

// linkIfindex is the device a tcx or XDP link is attached to, 0 for other links.
func linkIfindex(info *link.Info) int {
	switch {
	case info.TCX() != nil:
		return int(info.TCX().Ifindex)
	case info.XDP() != nil:
		return int(info.XDP().Ifindex)
	}
	return 0
}

func (d *Datapath) detach(name string, ifindex int) error {
	if d.legacyTC {
		return detachLegacy(ifindex)
	}
	found, err := unpinLink(d.linkPath(name))
	if err == nil && !found {
		return detachLegacy(ifindex)
	}
	return err
}

// unpinLink removes the link pinned at path (detached once no process holds it); found is
// false when nothing is pinned there.
func unpinLink(path string) (found bool, err error) {
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load pinned link %s: %w", path, err)
	}
	defer l.Close()
	if err := l.Unpin(); err != nil {
		return true, fmt.Errorf("unpin link %s: %w", path, err)
	}
	return true, nil
}
