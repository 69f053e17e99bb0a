package endpoint

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
)

// ProbeTCP connects to addr from inside the netns at netnsPath (a container's: its own address
// is reachable there whatever the host routes) within timeout and closes the connection at
// once: nil when something accepted it. The calling goroutine's OS thread is switched into the
// netns and back, locked meanwhile.
func ProbeTCP(netnsPath string, addr netip.AddrPort, timeout time.Duration) error {
	ns, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return fmt.Errorf("netns %s: %w", netnsPath, err)
	}
	defer ns.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("enter netns %s: %w", netnsPath, err)
	}
	defer func() { _ = netns.Set(orig) }()
	conn, err := net.DialTimeout("tcp4", addr.String(), timeout)
	if err != nil {
		return err
	}
	return conn.Close()
}
