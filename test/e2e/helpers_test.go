package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// status reads h's agent status through the CLI.
func status(t *testing.T, c *testbed.Cluster, h *testbed.Host) api.Status {
	t.Helper()
	out, err := c.CLI(h, "status", "-o", "json")
	require.NoError(t, err)
	var st api.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	return st
}

// counter returns the packet count of the named datapath counter on h.
func counter(t *testing.T, c *testbed.Cluster, h *testbed.Host, name string) uint64 {
	t.Helper()
	for _, ctr := range status(t, c, h).Counters {
		if ctr.Name == name {
			return ctr.Packets
		}
	}
	t.Fatalf("no counter %q", name)
	return 0
}

// dumpMap returns bpftool's BTF-formatted JSON dump of h's pinned map name, as operators see it.
func dumpMap(t *testing.T, h *testbed.Host, name string) string {
	t.Helper()
	out, err := exec.Command("bpftool", "map", "dump", "pinned", filepath.Join(h.PinDir, name), "-j").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// mapEntries returns the entries of bpftool's JSON dump of h's pinned map name.
func mapEntries(t *testing.T, h *testbed.Host, name string) []map[string]any {
	t.Helper()
	var entries []map[string]any
	require.NoError(t, json.Unmarshal([]byte(dumpMap(t, h, name)), &entries))
	return entries
}

// pingResult is the outcome of one background ping.
type pingResult struct {
	stats testbed.PingStats
	err   error
}

// pingInBackground starts count echoes at interval from from to each of tos; each result
// arrives on the channel of the destination's name.
func pingInBackground(c *testbed.Cluster, from *testbed.Container, tos []*testbed.Container, count int, interval time.Duration) map[string]chan pingResult {
	out := map[string]chan pingResult{}
	for _, to := range tos {
		ch := make(chan pingResult, 1)
		out[to.Name] = ch
		go func() {
			st, err := c.Bed.Ping(context.Background(), from.Name, to.IP, count, interval)
			ch <- pingResult{st, err}
		}()
	}
	return out
}

// udpCounter listens on to:port and counts the datagrams that arrive until closed.
func udpCounter(t *testing.T, c *testbed.Cluster, to *testbed.Container, port uint16) (io.Closer, *atomic.Int64) {
	t.Helper()
	srv, err := c.Bed.ListenUDP(to.Name, netip.AddrPortFrom(to.IP, port))
	require.NoError(t, err)
	got := new(atomic.Int64)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := srv.Read(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	return srv, got
}

// pingAsync pings to from container from count times at interval in the background; the
// result arrives on the returned channel.
func pingAsync(c *testbed.Cluster, from, to *testbed.Container, count int, interval time.Duration) <-chan pingResult {
	return pingInBackground(c, from, []*testbed.Container{to}, count, interval)[to.Name]
}

// restartAgents kills every agent of c with SIGKILL, as a crash would, leaves the cluster
// without any agent for 500 ms, and starts them again with extra flags.
func restartAgents(t *testing.T, c *testbed.Cluster, extra ...string) {
	t.Helper()
	for _, h := range c.Hosts {
		require.NoError(t, c.KillAgent(h))
	}
	time.Sleep(500 * time.Millisecond)
	for _, h := range c.Hosts {
		require.NoError(t, c.StartAgent(h, extra...))
	}
}
