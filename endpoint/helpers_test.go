package endpoint_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// testNS is a throwaway named netns created with `ip netns add`.
type testNS struct {
	name string
	path string
	ns   netns.NsHandle
	nl   *netlink.Handle
}

// requireRoot skips t unless running as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (creates network namespaces)")
	}
}

// randHex returns n random bytes as hex.
func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// newTestNS creates "ebpfnet-ut-<random>" and removes it in t.Cleanup.
func newTestNS(t *testing.T) *testNS {
	t.Helper()
	name := "ebpfnet-ut-" + randHex(t, 5)
	out, err := exec.Command("ip", "netns", "add", name).CombinedOutput()
	require.NoError(t, err, "ip netns add %s: %s", name, out)
	tn := &testNS{name: name, path: "/var/run/netns/" + name, ns: netns.None()}
	t.Cleanup(func() {
		if tn.nl != nil {
			tn.nl.Close()
		}
		if tn.ns.IsOpen() {
			tn.ns.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	tn.ns, err = netns.GetFromPath(tn.path)
	require.NoError(t, err)
	tn.nl, err = netlink.NewHandleAt(tn.ns, unix.NETLINK_ROUTE)
	require.NoError(t, err)
	return tn
}

// linkNames lists the link names in tn, sorted.
func (tn *testNS) linkNames(t *testing.T) []string {
	t.Helper()
	links, err := tn.nl.LinkList()
	if errors.Is(err, netlink.ErrDumpInterrupted) {
		links, err = tn.nl.LinkList()
	}
	require.NoError(t, err)
	names := make([]string, 0, len(links))
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	sort.Strings(names)
	return names
}

// mustLink returns the link called name in tn.
func (tn *testNS) mustLink(t *testing.T, name string) netlink.Link {
	t.Helper()
	l, err := tn.nl.LinkByName(name)
	require.NoError(t, err, "link %q in %s", name, tn.name)
	return l
}

// run runs argv inside tn via nsenter and returns combined output.
func (tn *testNS) run(t *testing.T, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"--net=" + tn.path, "--"}, argv...)
	out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
	return string(out), err
}

// mac parses s or fails t.
func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	require.NoError(t, err)
	return m
}
