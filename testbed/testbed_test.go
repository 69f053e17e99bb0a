package testbed_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/testbed"
)

var (
	addrA = netip.MustParsePrefix("10.99.0.1/24")
	addrB = netip.MustParsePrefix("10.99.0.2/24")
)

// newBed returns a Bed with a unique prefix, closed in t.Cleanup. It skips
// t unless running as root.
func newBed(t *testing.T) *testbed.Bed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates network namespaces)")
	}
	b, err := testbed.New(testbed.UniquePrefix("tb"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// pair makes namespaces "a" and "b" joined by va (10.99.0.1/24) and vb
// (10.99.0.2/24) with the given MTU.
func pair(t *testing.T, b *testbed.Bed, mtu int) {
	t.Helper()
	_, err := b.Netns("a")
	require.NoError(t, err)
	_, err = b.Netns("b")
	require.NoError(t, err)
	require.NoError(t, b.Link("a", "va", addrA, "b", "vb", addrB, mtu))
}

// netnsList returns `ip netns list` output.
func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func TestLinkAndPing(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	pair(t, b, 1400)

	for _, c := range []struct{ ns, ifName, addr string }{{"a", "va", "10.99.0.1/24"}, {"b", "vb", "10.99.0.2/24"}} {
		h, err := b.Handle(c.ns)
		require.NoError(t, err)
		l, err := h.LinkByName(c.ifName)
		require.NoError(t, err)
		require.Equal(t, "veth", l.Type())
		require.Equal(t, 1400, l.Attrs().MTU)
		require.NotZero(t, l.Attrs().Flags&net.FlagUp)
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		require.NoError(t, err)
		require.Len(t, addrs, 1)
		require.Equal(t, c.addr, addrs[0].IPNet.String())
		lo, err := h.LinkByName("lo")
		require.NoError(t, err)
		require.NotZero(t, lo.Attrs().Flags&net.FlagUp, "lo up in %s", c.ns)
	}

	ctx := context.Background()
	st, err := b.Ping(ctx, "a", addrB.Addr(), 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, testbed.PingStats{Sent: 3, Received: 3}, st)

	st, err = b.Ping(ctx, "a", netip.MustParseAddr("10.99.0.77"), 3, 200*time.Millisecond)
	require.NoError(t, err, "100%% loss is not an error")
	require.Equal(t, testbed.PingStats{Sent: 3, Received: 0}, st)
}

func TestPingNoRouteIsError(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	_, err := b.Netns("lonely")
	require.NoError(t, err)
	_, err = b.Ping(context.Background(), "lonely", netip.MustParseAddr("192.0.2.1"), 1, 0)
	require.ErrorContains(t, err, "Network is unreachable")
}

func TestRoutedTopology(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	for _, n := range []string{"a", "r", "b"} {
		_, err := b.Netns(n)
		require.NoError(t, err)
	}
	require.NoError(t, b.Link("a", "eth0", netip.MustParsePrefix("10.1.0.2/24"), "r", "ra", netip.MustParsePrefix("10.1.0.1/24"), 0))
	require.NoError(t, b.Link("b", "eth0", netip.MustParsePrefix("10.2.0.2/24"), "r", "rb", netip.MustParsePrefix("10.2.0.1/24"), 0))
	def := netip.MustParsePrefix("0.0.0.0/0")
	require.NoError(t, b.Route("a", def, netip.MustParseAddr("10.1.0.1")))
	require.NoError(t, b.Route("b", def, netip.MustParseAddr("10.2.0.1")))
	ctx := context.Background()
	target := netip.MustParseAddr("10.2.0.2")

	// Forwarding is off by default in a fresh netns: the router drops.
	st, err := b.Ping(ctx, "a", target, 1, 0)
	require.NoError(t, err)
	require.Equal(t, 0, st.Received)

	// sysctl inside the router netns only (nsenter --net).
	out, err := b.Run(ctx, "r", "sysctl", "-w", "net.ipv4.ip_forward=1")
	require.NoError(t, err, out)
	st, err = b.Ping(ctx, "a", target, 2, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, testbed.PingStats{Sent: 2, Received: 2}, st)
}

func TestTCPTransfer(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	pair(t, b, 0)
	tr, err := b.TCPTransfer(context.Background(), "a", "b", addrB.Addr(), 5201, time.Second)
	require.NoError(t, err)
	require.Greater(t, tr.Bytes, int64(0))
	require.Greater(t, tr.Gbps, 0.0)
	require.InDelta(t, 1.0, tr.Seconds, 0.5)
	t.Logf("TCP: %d bytes, %.2f Gbit/s, %d retransmits", tr.Bytes, tr.Gbps, tr.Retransmits)
}

func TestTCPTransferUnreachable(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	pair(t, b, 0)
	_, err := b.Netns("c") // not linked to anything
	require.NoError(t, err)
	_, err = b.TCPTransfer(context.Background(), "c", "b", addrB.Addr(), 5201, time.Second)
	require.ErrorContains(t, err, "unable to connect to server")
}

func TestUDPProbe(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	pair(t, b, 0)
	st, err := b.UDPProbe(context.Background(), "a", "b", addrB.Addr(), 5202, time.Second, 10_000_000)
	require.NoError(t, err)
	require.Greater(t, st.Sent, int64(100))
	require.Greater(t, st.Received, int64(0))
	require.LessOrEqual(t, st.Received, st.Sent)
	// Loss depends on the machine's load (other test packages run beside this one): check the
	// probe's arithmetic, not a loss threshold.
	require.InDelta(t, float64(st.Sent-st.Received)/float64(st.Sent)*100, st.LossPercent, 1e-9)
	require.Greater(t, st.Bytes, int64(0))
}

func TestRunInNetns(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	pair(t, b, 0)
	ctx := context.Background()

	out, err := b.Run(ctx, "a", "ip", "-o", "link", "show")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, "only lo and va are visible: %s", out)
	require.Contains(t, lines[0], "lo:")
	require.Contains(t, lines[1], "va@")

	// nsenter keeps the caller's /sys, so bpffs stays visible.
	host, err := exec.Command("stat", "-f", "-c", "%T", "/sys/fs/bpf").Output()
	if err == nil && strings.TrimSpace(string(host)) == "bpf_fs" {
		out, err = b.Run(ctx, "a", "stat", "-f", "-c", "%T", "/sys/fs/bpf")
		require.NoError(t, err, out)
		require.Equal(t, "bpf_fs", strings.TrimSpace(out))
	}

	_, err = b.Run(ctx, "a", "sh", "-c", "echo boom >&2; exit 3")
	require.ErrorContains(t, err, "exit status 3")
	require.ErrorContains(t, err, "boom")
	require.ErrorContains(t, err, b.Prefix()+"-a")

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Run(short, "a", "sleep", "30")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestUnknownNetns(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	_, err := b.Run(context.Background(), "nope", "true")
	require.ErrorIs(t, err, testbed.ErrUnknownNetns)
	_, err = b.Start("nope", "true")
	require.ErrorIs(t, err, testbed.ErrUnknownNetns)
	_, err = b.Handle("nope")
	require.ErrorIs(t, err, testbed.ErrUnknownNetns)
	require.Error(t, b.Link("nope", "x0", netip.Prefix{}, "nope", "x1", netip.Prefix{}, 0))
	_, err = b.Netns("bad name")
	require.ErrorContains(t, err, "invalid netns name")
}

func TestProcStopAndKill(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	_, err := b.Netns("p")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	p, err := b.Start("p", "sh", "-c", "echo ready; exec sleep 600")
	require.NoError(t, err)
	require.NoError(t, p.WaitLog(ctx, "ready"))
	require.True(t, strings.HasPrefix(p.LogPath(), b.TempDir()))
	require.False(t, p.Exited())
	require.NoError(t, p.Stop())
	require.True(t, p.Exited())
	require.ErrorContains(t, p.Wait(), "terminated")

	// Ignores SIGTERM: Stop must escalate to SIGKILL after the grace period.
	stubborn, err := b.Start("p", "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.1; done`)
	require.NoError(t, err)
	require.NoError(t, stubborn.WaitLog(ctx, "ready"))
	start := time.Now()
	require.NoError(t, stubborn.Stop())
	require.GreaterOrEqual(t, time.Since(start), testbed.StopGrace)
	require.ErrorContains(t, stubborn.Wait(), "killed")

	k, err := b.Start("p", "sleep", "600")
	require.NoError(t, err)
	require.NoError(t, k.Kill())
	require.ErrorContains(t, k.Wait(), "killed")

	quick, err := b.Start("p", "sh", "-c", "echo bye; exit 4")
	require.NoError(t, err)
	require.ErrorContains(t, quick.WaitLog(ctx, "never"), "exited")
	require.Contains(t, quick.Log(), "bye")
}

func TestCloseRemovesEverything(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates network namespaces)")
	}
	b, err := testbed.New(testbed.UniquePrefix("tc"))
	require.NoError(t, err)
	pathX, err := b.Netns("x")
	require.NoError(t, err)
	require.Equal(t, "/run/netns/"+b.Prefix()+"-x", pathX)
	_, err = b.Netns("y")
	require.NoError(t, err)
	require.NoError(t, b.Link("x", "vx", addrA, "y", "vy", addrB, 0))
	p, err := b.Start("x", "sleep", "600")
	require.NoError(t, err)
	require.Contains(t, netnsList(t), b.Prefix()+"-x")

	require.NoError(t, b.Close())
	list := netnsList(t)
	require.NotContains(t, list, b.Prefix()+"-x")
	require.NotContains(t, list, b.Prefix()+"-y")
	require.NoFileExists(t, pathX)
	require.True(t, p.Exited())
	require.True(t, errors.Is(syscall.Kill(p.PID(), 0), syscall.ESRCH), "process gone")
	require.NoDirExists(t, b.TempDir())

	require.NoError(t, b.Close(), "second Close is a no-op")
	_, err = b.Netns("z")
	require.ErrorContains(t, err, "closed")
}
