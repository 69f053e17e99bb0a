// Command ebpfnet-wireguard serves one userspace WireGuard device
// (golang.zx2c4.com/wireguard over a TUN device) for the ebpfnet agent on hosts whose
// kernel has no WireGuard module. The agent starts it detached (its own session), so the
// device, and the encrypted datapath with it, outlives the agent; a restarted agent finds it
// again through its UAPI socket, /var/run/wireguard/<name>.sock, and configures it with
// wgctrl. It runs until its device is deleted (`ip link del NAME`) or it gets SIGTERM or
// SIGINT. It creates the device only: keys, peers, addresses and the link state are the
// agent's. Kept small on purpose (no etcd, no BPF).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/ipc"
	"golang.zx2c4.com/wireguard/tun"
)

func main() {
	name := flag.String("name", "", "device name, 1..15 characters (required)")
	mtu := flag.Int("mtu", device.DefaultMTU, "device MTU in bytes")
	verbose := flag.Bool("verbose", false, "log every handshake and packet event")
	flag.Parse()
	if err := run(*name, *mtu, *verbose); err != nil {
		fmt.Fprintf(os.Stderr, "ebpfnet-wireguard: %v\n", err)
		os.Exit(1)
	}
}

// run creates the TUN device and the WireGuard device on it, serves the UAPI socket, and
// returns when the device is closed (its link deleted) or a signal arrives.
func run(name string, mtu int, verbose bool) error {
	if name == "" || len(name) > unix.IFNAMSIZ-1 {
		return fmt.Errorf("invalid --name %q: want 1..15 characters", name)
	}
	if mtu < 576 || mtu > 65535 {
		return fmt.Errorf("invalid --mtu %d: want 576..65535", mtu)
	}
	level := device.LogLevelError
	if verbose {
		level = device.LogLevelVerbose
	}
	logger := device.NewLogger(level, fmt.Sprintf("(%s) ", name))
	tdev, err := createTUN(name, mtu)
	if err != nil {
		return fmt.Errorf("create TUN %s: %w", name, err)
	}
	uapiFile, err := ipc.UAPIOpen(name)
	if err != nil {
		tdev.Close()
		return fmt.Errorf("open UAPI socket for %s: %w", name, err)
	}
	dev := device.NewDevice(tdev, conn.NewDefaultBind(), logger)
	defer dev.Close()
	uapi, err := ipc.UAPIListen(name, uapiFile)
	if err != nil {
		return fmt.Errorf("listen on UAPI socket for %s: %w", name, err)
	}
	defer uapi.Close()
	errs := make(chan error, 1)
	go func() {
		for {
			c, err := uapi.Accept()
			if err != nil {
				errs <- err
				return
			}
			go dev.IpcHandle(c)
		}
	}()
	term := make(chan os.Signal, 1)
	signal.Notify(term, unix.SIGTERM, os.Interrupt)
	fmt.Fprintf(os.Stderr, "ebpfnet-wireguard: serving %s (pid %d)\n", name, os.Getpid())
	select {
	case s := <-term:
		fmt.Fprintf(os.Stderr, "ebpfnet-wireguard: %s: %v, shutting down\n", name, s)
	case err := <-errs:
		return fmt.Errorf("UAPI socket for %s: %w", name, err)
	case <-dev.Wait():
		fmt.Fprintf(os.Stderr, "ebpfnet-wireguard: %s closed, exiting\n", name)
	}
	return nil
}

// createTUN opens TUN device name WITHOUT IFF_VNET_HDR (tun.CreateTUN sets it): with the
// virtio header, wireguard-go coalesces decrypted UDP datagrams of one flow into one
// UDP-GSO packet (UDP GRO), and the VXLAN datagrams ebpfnet tunnels would reach the
// from_wireguard program glued together instead of one VXLAN packet each. Without it every
// packet crosses the TUN on its own and the kernel segments GSO packets before transmit.
func createTUN(name string, mtu int) (tun.Device, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return tun.CreateTUNFromFile(os.NewFile(uintptr(fd), "/dev/net/tun"), mtu)
}
