package testbed

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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

// ListenTCP opens a TCP listener on laddr inside netns name. The caller closes it.
func (b *Bed) ListenTCP(name string, laddr netip.AddrPort) (*net.TCPListener, error) {
	var l *net.TCPListener
	err := b.inNetns(name, func() (err error) {
		l, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(laddr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen tcp %s in %q: %w", laddr, name, err)
	}
	return l, nil
}

// DialTCP connects from netns name to raddr within timeout. The caller closes the connection.
func (b *Bed) DialTCP(name string, raddr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := b.inNetns(name, func() (err error) {
		// The socket is created (in this netns) before DialTimeout returns or blocks further.
		c, err = net.DialTimeout("tcp4", raddr.String(), timeout)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s from %q: %w", raddr, name, err)
	}
	return c, nil
}

// DialTCPFrom connects from laddr in netns name to raddr within timeout, with SO_REUSEADDR
// set before bind: several connections may share one local address and port while their
// remote addresses differ (Linux allows that for non-listening sockets, socket(7)). The
// caller closes the connection.
func (b *Bed) DialTCPFrom(name string, laddr, raddr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(laddr),
		Timeout:   timeout,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	var c net.Conn
	err := b.inNetns(name, func() (err error) {
		c, err = d.Dial("tcp4", raddr.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial tcp %s->%s from %q: %w", laddr, raddr, name, err)
	}
	return c, nil
}
