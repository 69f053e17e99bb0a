package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// prefilterSize is the deny list of the timing step: a blocklist feed's size.
const prefilterSize = 100000

// TestPrefilter: a prefix on the XDP deny list stops an outside client's TCP to a published
// port (counted as drop_prefilter, shown by monitor), removing it restores it; `prefilter apply
// -f` replaces the list with 100,000 prefixes at once (its time is logged, not asserted);
// malformed prefixes and files are refused with their positions and change nothing; with
// --xdp-mode off the tc program enforces the same list.
func TestPrefilter(t *testing.T) {
	t.Parallel()
	c := newNATCluster(t)
	h1, c2 := c.Hosts[0], c.Containers[1]
	_, err := c.CLI(h1, "publish", "add", c2.Name, "8080:5201/tcp")
	require.NoError(t, err)
	ln, err := c.Bed.ListenTCP(c2.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 5201))
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	published := netip.AddrPortFrom(h1.UnderlayIP, 8080)
	reaches := func() bool {
		conn, err := c.Bed.DialTCP("out", published, 2*time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := c.CLI(h1, args...)
		require.NoError(t, err)
		return out
	}
	prefixes := func() int { return status(t, c, h1).XDP.Prefixes }

	st := status(t, c, h1).XDP
	require.Equal(t, api.XDPStatus{Requested: "auto", Mode: "off", TCPrefilter: true}, st, "auto: no XDP on a veth underlay")
	restartAgents(t, c, "--xdp-mode", "native")
	st = status(t, c, h1).XDP
	require.Equal(t, api.XDPStatus{Requested: "native", Mode: "native", Attached: true}, st)
	require.True(t, reaches(), "published port before the deny list")

	mon, err := c.Bed.Start(h1.Name, c.Binary, "--socket", h1.Socket, "monitor", "-o", "json", "--count", "1")
	require.NoError(t, err)
	before := counter(t, c, h1, "drop_prefilter")
	cli("prefilter", "add", "172.31.0.100/30", "203.0.113.9")
	require.Equal(t, "172.31.0.100/30\n203.0.113.9/32\n", cli("prefilter", "list"))
	require.False(t, reaches(), "the outside client's network is denied")
	require.Positive(t, counter(t, c, h1, "drop_prefilter")-before, "dropped at XDP, counted")
	requireMonitored(t, mon, "drop_prefilter", outsideIP)

	cli("prefilter", "del", "172.31.0.100/30")
	require.True(t, reaches(), "removing the prefix restores the client")

	// Malformed input: refused with its positions, nothing changed.
	_, err = c.CLI(h1, "prefilter", "add", "198.51.100.0/24", "10.0.0.1/8", "nonsense")
	require.ErrorContains(t, err, `prefix 2: "10.0.0.1/8" has host bits set`)
	require.ErrorContains(t, err, `prefix 3: "nonsense" is not an IPv4`)
	_, err = c.CLI(h1, "prefilter", "del", "172.31.0.100/30")
	require.ErrorContains(t, err, "not found")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("# feed\n172.31.0.100/30\n\n10.1.2.0/33\n192.0.2.0/24 ; SBL1\n2001:db8::/32\n"), 0o644))
	_, err = c.CLI(h1, "prefilter", "apply", "-f", bad)
	require.ErrorContains(t, err, `line 4: "10.1.2.0/33" is not an IPv4 CIDR`)
	require.ErrorContains(t, err, `line 6: "2001:db8::/32" is not an IPv4 CIDR`)
	require.Equal(t, "203.0.113.9/32\n", cli("prefilter", "list"), "a refused file changes nothing")
	require.True(t, reaches())

	// A blocklist feed of 100,000 prefixes, the outside client's last, replaces the list at once.
	feed := filepath.Join(dir, "feed.txt")
	var b strings.Builder
	for i := range prefilterSize - 1 {
		fmt.Fprintf(&b, "100.%d.%d.%d/32\n", 64+i/65536, i/256%256, i%256)
	}
	fmt.Fprintf(&b, "%s/32\n", outsideIP)
	require.NoError(t, os.WriteFile(feed, []byte(b.String()), 0o644))
	start := time.Now()
	var ch api.PrefilterChange
	require.NoError(t, json.Unmarshal([]byte(cli("prefilter", "apply", "-f", feed, "-o", "json")), &ch))
	t.Logf("prefilter apply -f of %d prefixes: in force after %.3f s in the agent, %.3f s for the CLI call",
		prefilterSize, ch.Seconds, time.Since(start).Seconds())
	require.Equal(t, prefilterSize, ch.Prefixes)
	require.Equal(t, prefilterSize, prefixes())
	require.False(t, reaches(), "the feed denies the outside client")

	// The same list, enforced by the tc program with XDP off, and by XDP again.
	restartAgents(t, c, "--xdp-mode", "off")
	st = status(t, c, h1).XDP
	require.Equal(t, api.XDPStatus{Requested: "off", Mode: "off", TCPrefilter: true, Prefixes: prefilterSize}, st)
	before = counter(t, c, h1, "drop_prefilter")
	require.False(t, reaches(), "the tc prefilter denies the outside client")
	require.Positive(t, counter(t, c, h1, "drop_prefilter")-before)
	require.NoError(t, os.WriteFile(feed, []byte("# empty feed\n"), 0o644))
	cli("prefilter", "apply", "-f", feed)
	require.True(t, reaches(), "an empty feed clears the list")
	restartAgents(t, c, "--xdp-mode", "native")
	require.Equal(t, "native", status(t, c, h1).XDP.Mode)
	require.True(t, reaches())
}

// requireMonitored waits for monitor mon (--count 1) to exit and checks its one drop event.
func requireMonitored(t *testing.T, mon *testbed.Proc, reason string, src netip.Addr) {
	t.Helper()
	require.Eventually(t, mon.Exited, 10*time.Second, 50*time.Millisecond, "monitor saw no drop")
	var ev api.DropEvent
	line, _, _ := strings.Cut(strings.TrimSpace(mon.Log()), "\n")
	require.NoError(t, json.Unmarshal([]byte(line), &ev), mon.Log())
	require.Equal(t, reason, ev.Reason)
	require.Equal(t, src, ev.Src)
}
