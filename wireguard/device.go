// Package wireguard manages the node's WireGuard device for encryption between hosts: the
// private key file, the device (the kernel's `wireguard` link, or golang.zx2c4.com/wireguard
// over TUN in the long-lived ebpfnet-wireguard helper process), and its peers, configured
// with wgctrl, which speaks to both through one API. It touches no BPF.
package wireguard

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Options describe the device Open creates or adopts.
type Options struct {
	Name     string       // device name, 1..15 characters (see DeviceName)
	Impl     Impl         // auto, kernel or userspace; "" means auto
	MTU      int          // device MTU in bytes (underlay MTU - Overhead)
	StateDir string       // where the userspace helper's pid file and log live
	Helper   string       // path of ebpfnet-wireguard; "" = next to this executable
	Logger   *slog.Logger // nil = slog.Default()
}

// Device is an open handle on the node's WireGuard device. Closing it leaves the device
// running (the datapath keeps forwarding without an agent); Delete removes it.
type Device struct {
	name    string
	impl    Impl // ImplKernel or ImplUserspace
	adopted bool
	pid     int // helper PID for userspace, 0 for kernel
	opts    Options
	wg      *wgctrl.Client
}

// Open adopts the device named opts.Name when one already answers (kernel link, or a
// helper's UAPI socket from a previous agent run), else creates it: ImplKernel as a netlink
// `wireguard` link, ImplUserspace by starting the helper detached, ImplAuto the kernel's when
// the module exists and the helper otherwise (logged). The link is set up with opts.MTU.
// Errors: bad options, a running device of another implementation than opts.Impl, kernel
// WireGuard missing with ImplKernel, the helper failing to start (its log tail included).
func Open(opts Options) (*Device, error) {
	if opts.Impl == "" {
		opts.Impl = ImplAuto
	}
	if _, err := ParseImpl(string(opts.Impl)); err != nil {
		return nil, err
	}
	if opts.Name == "" || len(opts.Name) > 15 {
		return nil, fmt.Errorf("invalid WireGuard device name %q: want 1..15 characters", opts.Name)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	wg, err := wgctrl.New()
	if err != nil {
		return nil, fmt.Errorf("wgctrl: %w", err)
	}
	d := &Device{name: opts.Name, opts: opts, wg: wg}
	if err := d.openOrCreate(); err != nil {
		wg.Close()
		return nil, err
	}
	if err := d.setUp(); err != nil {
		wg.Close()
		return nil, err
	}
	return d, nil
}

// openOrCreate adopts a running device or creates one per d.opts.Impl.
func (d *Device) openOrCreate() error {
	if dev, err := d.wg.Device(d.name); err == nil {
		return d.adopt(dev.Type)
	}
	if d.opts.Impl != ImplUserspace {
		err := createKernel(d.name, d.opts.MTU)
		switch {
		case err == nil:
			d.impl = ImplKernel
			return nil
		case d.opts.Impl == ImplKernel || !errors.Is(err, errNoKernelWireGuard):
			return err
		}
		d.opts.Logger.Info("kernel WireGuard unavailable, using the userspace implementation", "device", d.name, "reason", err)
	}
	pid, err := startHelper(d.opts)
	if err != nil {
		return err
	}
	d.impl, d.pid = ImplUserspace, pid
	return nil
}

// adopt takes over a running device of type t if it matches the requested implementation.
func (d *Device) adopt(t wgtypes.DeviceType) error {
	impl := ImplKernel
	if t == wgtypes.Userspace {
		impl = ImplUserspace
	}
	if d.opts.Impl != ImplAuto && d.opts.Impl != impl {
		return fmt.Errorf("WireGuard device %s already runs the %s implementation, not %s: delete it (ip link del %s) or choose %s", d.name, impl, d.opts.Impl, d.name, impl)
	}
	d.impl, d.adopted = impl, true
	if impl == ImplUserspace {
		d.pid = readPID(d.opts.StateDir, d.name)
	}
	d.opts.Logger.Info("adopted running WireGuard device", "device", d.name, "impl", impl, "pid", d.pid)
	return nil
}

// setUp sets the link's MTU and brings it up.
func (d *Device) setUp() error {
	l, err := netlink.LinkByName(d.name)
	if err != nil {
		return fmt.Errorf("WireGuard device %s: %w", d.name, err)
	}
	if d.opts.MTU > 0 && l.Attrs().MTU != d.opts.MTU {
		if err := netlink.LinkSetMTU(l, d.opts.MTU); err != nil {
			return fmt.Errorf("WireGuard device %s: set MTU %d: %w", d.name, d.opts.MTU, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("WireGuard device %s: set up: %w", d.name, err)
	}
	return nil
}

// Name returns the device name.
func (d *Device) Name() string { return d.name }

// Impl returns the implementation in use: ImplKernel or ImplUserspace.
func (d *Device) Impl() Impl { return d.impl }

// Adopted reports whether Open found the device already running.
func (d *Device) Adopted() bool { return d.adopted }

// PID returns the userspace helper's process ID (0 for the kernel device or when its pid file
// is missing).
func (d *Device) PID() int { return d.pid }

// Ifindex returns the device's interface index, or an error if the link is gone.
func (d *Device) Ifindex() (int, error) {
	l, err := netlink.LinkByName(d.name)
	if err != nil {
		return 0, fmt.Errorf("WireGuard device %s: %w", d.name, err)
	}
	return l.Attrs().Index, nil
}

// Close releases the wgctrl client; the device keeps running.
func (d *Device) Close() error { return d.wg.Close() }

// Delete removes the device (see Remove) and closes the handle.
func (d *Device) Delete() error {
	defer d.wg.Close()
	return Remove(d.opts.StateDir, d.name)
}

// Remove deletes WireGuard device name if it exists (its link; a userspace helper exits when
// its TUN is gone and is waited for, via its pid file in stateDir). Used when encryption is
// turned off. Errors: the link could not be deleted, or the helper did not exit.
func Remove(stateDir, name string) error {
	if l, err := netlink.LinkByName(name); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			return fmt.Errorf("delete WireGuard device %s: %w", name, err)
		}
	}
	return StopHelper(stateDir, name)
}
