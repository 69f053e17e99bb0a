package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// previousRelease is the last commit released before the map layout changes of this build
// (node_config grew, peers/frag_verdicts/ct_quota appeared, metrics 20 → 26).
const previousRelease = "cf26e60"

// releaseBinaries caches buildRelease's binaries by commit for the package's tests.
var releaseBinaries sync.Map

// buildRelease builds the ebpfnet binary of commit rev of this repository (git archive into a
// temp dir, go build there) once per test binary run. It skips the test when rev is not in
// the repository's history.
func buildRelease(t *testing.T, rev string) string {
	if suiteEncrypted() {
		t.Skip("the previous release has no --encryption: upgrades are tested in clear")
	}
	t.Helper()
	once, _ := releaseBinaries.LoadOrStore(rev, sync.OnceValues(func() (string, error) { return buildReleaseOnce(rev) }))
	bin, err := once.(func() (string, error))()
	if errors.Is(err, errNoRelease) {
		t.Skip(err)
	}
	require.NoError(t, err)
	return bin
}

// errNoRelease: the release commit is not in this repository (a shallow clone).
var errNoRelease = errors.New("previous release not in this repository")

func buildReleaseOnce(rev string) (string, error) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("%w: not run from a git checkout (%v)", errNoRelease, err)
	}
	repo := strings.TrimSpace(string(root))
	if err := exec.Command("git", "-C", repo, "cat-file", "-e", rev+"^{commit}").Run(); err != nil {
		return "", fmt.Errorf("%w: commit %s missing (shallow clone?)", errNoRelease, rev)
	}
	dir, err := os.MkdirTemp(filepath.Dir(binary), "release-") // removed with this build's binary
	if err != nil {
		return "", err
	}
	tarball := filepath.Join(dir, "src.tar")
	if out, err := exec.Command("git", "-C", repo, "archive", "-o", tarball, rev).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s: %w: %s", rev, err, out)
	}
	if out, err := exec.Command("tar", "-xf", tarball, "-C", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("untar %s: %w: %s", rev, err, out)
	}
	bin := filepath.Join(dir, "ebpfnet-"+rev)
	return bin, buildEbpfnet(dir, bin)
}

// tcpEcho is one TCP connection between two containers through which a 1 KiB message
// goes back and forth every 10 ms until stop.
type tcpEcho struct {
	rounds atomic.Int64
	stop   chan struct{}
	done   chan error
}

// startTCPEcho connects from to to:port (an echo server in to's netns) and starts the round
// trips; every socket is closed at cleanup.
func startTCPEcho(t *testing.T, bed *testbed.Bed, from, to *testbed.Container, port uint16) *tcpEcho {
	t.Helper()
	addr := netip.AddrPortFrom(to.IP, port)
	l, err := bed.ListenTCP(to.Name, addr)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		s, err := l.Accept()
		if err == nil {
			defer s.Close()
			_, _ = io.Copy(s, s)
		}
	}()
	conn, err := bed.DialTCP(from.Name, addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	e := &tcpEcho{stop: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		msg, buf := bytes.Repeat([]byte{'u'}, 1024), make([]byte, 1024)
		for {
			select {
			case <-e.stop:
				e.done <- nil
				return
			case <-time.After(10 * time.Millisecond):
			}
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard, not an assertion
			if _, err := conn.Write(msg); err != nil {
				e.done <- err
				return
			}
			if _, err := io.ReadFull(conn, buf); err != nil {
				e.done <- err
				return
			}
			e.rounds.Add(1)
		}
	}()
	return e
}

// waitRound waits until one more round trip has completed (what names the connection in the
// failure message).
func (e *tcpEcho) waitRound(t *testing.T, what string) {
	t.Helper()
	at := e.rounds.Load()
	require.Eventually(t, func() bool { return e.rounds.Load() > at }, 20*time.Second, 20*time.Millisecond,
		"no round trip on %s", what)
}

// finish stops the round trips and returns the first error the connection had.
func (e *tcpEcho) finish() error {
	close(e.stop)
	return <-e.done
}

// TestUpgradeFromPreviousRelease: a 2-host cluster of the previous release's agents carries
// pings and TCP connections same-host and cross-host; both agents are replaced by this
// build's (SIGTERM, start on the same pin and state dirs), which upgrades the pinned maps in
// place. At most 1% of echoes are lost, the TCP connections survive, and new endpoints and
// connections work after.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	t.Parallel()
	old := buildRelease(t, previousRelease)
	c := buildCluster(t, clusterSpec{hosts: 2, perHost: 2, binary: old})
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]

	const echoes = 200
	pings := pingInBackground(c, c1, []*testbed.Container{c2, c3}, echoes, 50*time.Millisecond)
	streams := map[string]*tcpEcho{}
	for i, to := range []*testbed.Container{c2, c3} {
		streams[to.Name] = startTCPEcho(t, c.Bed, c1, to, uint16(7100+i))
	}
	time.Sleep(2 * time.Second)
	before := map[string]int64{}
	for name, s := range streams {
		before[name] = s.rounds.Load()
		require.Positive(t, before[name], "no TCP round trip to %s on the previous release", name)
	}

	c.Binary = binary // agents and CLI of this build from now on
	for _, h := range c.Hosts {
		require.NoError(t, h.Agent.Stop())
		h.Agent = nil
		require.NoError(t, c.StartAgent(h))
		log := h.Agent.Log()
		require.Contains(t, log, "map=node_config", "node_config of the previous layout not replaced on %s", h.Name)
		require.NotContains(t, log, "level=ERROR")
	}

	for _, h := range c.Hosts {
		require.Zero(t, counter(t, c, h, "drop_unknown_peer"), "VXLAN of a cluster host dropped on %s during the upgrade", h.Name)
	}
	for name, ch := range pings {
		r := <-ch
		require.NoError(t, r.err)
		t.Logf("c1 -> %s: %d of %d echoes across the upgrade", name, r.stats.Received, r.stats.Sent)
		require.Equal(t, echoes, r.stats.Sent, name)
		require.GreaterOrEqual(t, r.stats.Received, echoes*99/100, "c1 -> %s lost more than 1%% across the upgrade", name)
	}
	for name, s := range streams {
		s.waitRound(t, "the TCP connection c1 -> "+name+" after the upgrade")
		require.NoError(t, s.finish(), "TCP connection c1 -> %s broke", name)
		t.Logf("c1 -> %s: one TCP connection, %d round trips before the upgrade, %d in all", name, before[name], s.rounds.Load())
	}

	// New endpoints and connections after the upgrade, same host and cross host.
	c5, err := c.AddContainer(c.Hosts[1], "c5", netip.MustParseAddr("10.42.2.4"))
	require.NoError(t, err)
	for _, to := range []*testbed.Container{c2, c5} {
		st, err := c.Bed.Ping(context.Background(), c1.Name, to.IP, 3, 100*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 3, st.Received, "new traffic c1 -> %s after the upgrade", to.Name)
		s := startTCPEcho(t, c.Bed, c1, to, 7200)
		s.waitRound(t, "new TCP connection c1 -> "+to.Name)
		require.NoError(t, s.finish())
	}
	require.Positive(t, counter(t, c, c.Hosts[0], "forward_encap"), "counters kept")
}
