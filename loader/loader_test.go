package loader_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
)

// inNewNetns runs fn on a locked thread inside a fresh netns (attachment resolves ifindexes in
// the calling thread's netns), then returns the thread to its original netns.
func inNewNetns(t *testing.T, fn func()) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	require.NoError(t, err)
	defer orig.Close()
	ns, err := netns.New()
	require.NoError(t, err)
	defer ns.Close()
	defer func() { require.NoError(t, netns.Set(orig)) }()
	fn()
}

func pinDir(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	dir := filepath.Join(loader.DefaultBPFFS, "ebpfnet-lt-"+hex.EncodeToString(b))
	t.Cleanup(func() { require.NoError(t, loader.Remove(dir)) })
	return dir
}

func addVeth(t *testing.T, name string) int {
	la := netlink.NewLinkAttrs()
	la.Name = name
	require.NoError(t, netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: name + "p"}))
	l, err := netlink.LinkByName(name)
	require.NoError(t, err)
	return l.Attrs().Index
}

// linkInfo returns the link ID and program ID of the link pinned at path.
func linkInfo(t *testing.T, path string) (link.ID, uint32) {
	l, err := link.LoadPinnedLink(path, nil)
	require.NoError(t, err)
	defer l.Close()
	info, err := l.Info()
	require.NoError(t, err)
	return info.ID, uint32(info.Program)
}

// TestAttachUpgradeDetach: a second load (an agent restart or upgrade) swaps the program into
// the same pinned link; a recreated device gets a fresh link; detach removes the pin.
func TestAttachUpgradeDetach(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		idx := addVeth(t, "lxctest")
		pin := filepath.Join(dir, "links", "lxctest")

		dp1, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		require.NoError(t, dp1.AttachContainer("lxctest", idx))
		link1, prog1 := linkInfo(t, pin)
		require.NoError(t, dp1.Close())

		dp2, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		defer dp2.Close()
		require.NoError(t, dp2.AttachContainer("lxctest", idx))
		link2, prog2 := linkInfo(t, pin)
		require.Equal(t, link1, link2, "same link: updated in place, never detached")
		require.NotEqual(t, prog1, prog2, "new program swapped in")

		l, err := netlink.LinkByName("lxctest")
		require.NoError(t, err)
		require.NoError(t, netlink.LinkDel(l))
		idx = addVeth(t, "lxctest")
		require.NoError(t, dp2.AttachContainer("lxctest", idx))
		link3, _ := linkInfo(t, pin)
		require.NotEqual(t, link2, link3, "stale link of the deleted device replaced")

		require.NoError(t, dp2.DetachContainer("lxctest", idx))
		_, err = os.Stat(pin)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.NoError(t, dp2.DetachContainer("lxctest", idx), "detach twice is fine")
	})
}

// TestPinnedMapsSurviveReload: map entries written through one load are there for the next.
func TestPinnedMapsSurviveReload(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		ep := maps.Endpoint{IP: netip.MustParseAddr("10.42.1.2"), IfIndex: 7, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Identity: 300}
		dp1, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		require.NoError(t, dp1.Maps().Endpoints.Put(ep))
		require.NoError(t, dp1.Close())

		dp2, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		defer dp2.Close()
		got, err := dp2.Maps().Endpoints.Lookup(ep.IP)
		require.NoError(t, err)
		require.Equal(t, ep, got)
	})
}

func TestPinDirMustBeOnBPFFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	_, err := loader.Load(t.TempDir(), loader.Options{})
	require.ErrorContains(t, err, "is not on a bpf filesystem")
}

func TestLockPinDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := pinDir(t)
	require.NoError(t, loader.EnsurePinDir(dir))
	unlock, err := loader.LockPinDir(dir)
	require.NoError(t, err)
	_, err = loader.LockPinDir(dir)
	require.ErrorIs(t, err, loader.ErrPinDirBusy)
	require.NoError(t, unlock())
	unlock, err = loader.LockPinDir(dir)
	require.NoError(t, err)
	require.NoError(t, unlock())
}
