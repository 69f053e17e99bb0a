package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"

	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/ebpfnet/ebpfnet/testbed"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// The encrypted cross-host measure (issue 9) compares two topologies of its own, reported in
// the ebpfnet and ceiling columns: ebpfnet with --encryption wireguard, and the encryption
// ceiling, the same userspace WireGuard helper (ebpfnet-wireguard) as a plain tunnel between
// the two host namespaces. ebpfnet in clear is the "TCP 1 stream, cross host" row.

// tunnelIP is host i's (1-based) address inside the plain WireGuard tunnel, 10.99.0.i/24.
func tunnelIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 99, 0, byte(i)}) }

// NewEbpfnetEncrypted builds ebpfnet with encryption in a new bed with the given prefix: the
// ebpfnet topology's cluster (see NewEbpfnet) with every agent started with `--encryption
// wireguard` (the userspace device where the kernel has no WireGuard) and peers given their
// keys. Only the cross-host pair c1 -> c3 is measured (TCP through the tunnel); the hosts'
// userspace WireGuard helpers are its Helpers (none with the kernel's WireGuard).
func NewEbpfnetEncrypted(prefix, binary string) (*Topology, error) {
	t, c, err := newEbpfnetTopology(prefix, binary, "--encryption", "wireguard")
	if err != nil {
		return nil, fmt.Errorf("ebpfnet encrypted topology: %w", err)
	}
	c1, c3 := c.Containers[0], c.Containers[2]
	t.Cross = Pair{Client: c1.Name, Server: c3.Name, ServerIP: c3.IP}
	for _, h := range c.Hosts {
		if pid := wireguard.HelperPID(h.StateDir, wireguard.DeviceName(h.UnderlayIP, h.StateDir)); pid != 0 {
			t.Helpers = append(t.Helpers, pid)
		}
	}
	return t, nil
}

// NewWireGuardTunnel builds the encryption ceiling in a new bed with the given prefix: the
// ceiling's 2-host underlay (MTU 1500) with, in each host namespace, the WireGuard device of
// the ebpfnet-wireguard helper found beside binary (MTU 1500 - wireguard.Overhead, as the
// agent sets it), address tunnelIP(i)/24, and the other host as its one peer (endpoint its
// underlay address, port wireguard.DefaultPort, AllowedIPs its tunnel address /32). The pair
// is h1 -> h2's tunnel address. Close deletes the devices (their helpers exit) and the bed.
func NewWireGuardTunnel(ctx context.Context, prefix, binary string) (_ *Topology, err error) {
	bed, err := testbed.New(prefix)
	if err != nil {
		return nil, err
	}
	t := &Topology{Name: TopoCeiling, Bed: bed, close: bed.Close}
	var devs []*tunnelDevice
	defer func() {
		if err != nil {
			err = fmt.Errorf("WireGuard tunnel topology: %w", err)
			_ = t.Close()
		}
	}()
	c, err := testbed.NewSwitchedCluster(bed, "", 2)
	if err != nil {
		return nil, err
	}
	t.close = func() error {
		fns := []func() error{}
		for _, d := range devs {
			fns = append(fns, d.delete)
		}
		return closeAll(append(fns, bed.Close)...)
	}
	for i, h := range c.Hosts {
		d, err := openTunnelDevice(bed, h, fmt.Sprintf("%s-wg%d", prefix, i+1), filepath.Join(filepath.Dir(binary), testbed.WireGuardBinary))
		if err != nil {
			return nil, err
		}
		devs = append(devs, d)
		t.Helpers = append(t.Helpers, d.dev.PID())
		if _, err := bed.Run(ctx, h.Name, "ip", "addr", "add", netip.PrefixFrom(tunnelIP(i+1), 24).String(), "dev", d.name); err != nil {
			return nil, err
		}
	}
	for i, d := range devs {
		o := 1 - i
		if err := d.configure(devs[o].key.PublicKey(), c.Hosts[o].UnderlayIP, tunnelIP(o+1)); err != nil {
			return nil, err
		}
	}
	t.Cross = Pair{Client: c.Hosts[0].Name, Server: c.Hosts[1].Name, ServerIP: tunnelIP(2)}
	return t, nil
}

// tunnelDevice is one host's end of the plain WireGuard tunnel.
type tunnelDevice struct {
	bed  *testbed.Bed
	host string
	name string
	key  wgtypes.Key
	dev  *wireguard.Device
}

// openTunnelDevice starts helper's userspace WireGuard device name inside h's namespace (the
// helper inherits the namespace of the thread that starts it) with a new private key.
func openTunnelDevice(bed *testbed.Bed, h *testbed.Host, name, helper string) (*tunnelDevice, error) {
	key, err := wireguard.NewKey()
	if err != nil {
		return nil, err
	}
	d := &tunnelDevice{bed: bed, host: h.Name, name: name, key: key}
	err = bed.InNetns(h.Name, func() error {
		d.dev, err = wireguard.Open(wireguard.Options{Name: name, Impl: wireguard.ImplUserspace,
			MTU: testbed.UnderlayMTU - wireguard.Overhead, StateDir: bed.TempDir(), Helper: helper})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	return d, nil
}

// configure gives the device its key, port wireguard.DefaultPort and the other host as its
// only peer, reached at underlay:DefaultPort, carrying tunnel/32. The userspace device is
// configured over its UAPI socket, which is reachable from any namespace.
func (d *tunnelDevice) configure(peer wgtypes.Key, underlay, tunnel netip.Addr) error {
	wg, err := wgctrl.New()
	if err != nil {
		return err
	}
	defer wg.Close()
	port := wireguard.DefaultPort
	return wg.ConfigureDevice(d.name, wgtypes.Config{PrivateKey: &d.key, ListenPort: &port, ReplacePeers: true,
		Peers: []wgtypes.PeerConfig{{
			PublicKey:  peer,
			Endpoint:   &net.UDPAddr{IP: underlay.AsSlice(), Port: wireguard.DefaultPort},
			AllowedIPs: []net.IPNet{{IP: tunnel.AsSlice(), Mask: net.CIDRMask(32, 32)}},
		}}})
}

// delete removes the device from its namespace; its helper exits with it.
func (d *tunnelDevice) delete() error {
	if d.dev == nil {
		return nil
	}
	return d.bed.InNetns(d.host, d.dev.Delete)
}
