package testbed

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn on a locked OS thread switched into the bed's netns name, then switches
// back. Sockets created by fn stay in that netns.
func (b *Bed) inNetns(name string, fn func() error) error {
	target, err := b.NsHandle(name)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return fmt.Errorf("enter netns %q: %w", name, err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		panic(fmt.Sprintf("testbed: cannot return to the original netns: %v", err)) // the thread is unusable
	}
	return fnErr
}

// ListenUDP opens a UDP socket bound to laddr inside netns name, for tests that count
// datagrams from this process. The caller closes it.
func (b *Bed) ListenUDP(name string, laddr netip.AddrPort) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := b.inNetns(name, func() (err error) {
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen udp %s in %q: %w", laddr, name, err)
	}
	return c, nil
}

// DialUDP opens a UDP socket in netns name from laddr to raddr (a fixed 5-tuple, one flow).
// The caller closes it.
func (b *Bed) DialUDP(name string, laddr, raddr netip.AddrPort) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := b.inNetns(name, func() (err error) {
		c, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(laddr), net.UDPAddrFromAddrPort(raddr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial udp %s->%s in %q: %w", laddr, raddr, name, err)
	}
	return c, nil
}
