package loader_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/loader"
)

// TestAttachXDP: native mode on a veth; a restart swaps the program into the same pinned link;
// a device without native XDP (loopback) falls back to generic; generic asked on the veth replaces
// the native link; detach leaves no XDP program.
func TestAttachXDP(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		veth := addVeth(t, "ultest")
		lo, err := netlink.LinkByName("lo") // the test netns's own loopback
		require.NoError(t, err)
		loIdx := lo.Attrs().Index
		require.Equal(t, loader.XDPOff, loader.XDPAttachMode(veth))

		dp1, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		mode, err := dp1.AttachXDP("ultest", veth, loader.XDPNative)
		require.NoError(t, err)
		require.Equal(t, loader.XDPNative, mode)
		require.Equal(t, loader.XDPNative, loader.XDPAttachMode(veth))
		pin := filepath.Join(dir, "links", "xdp-ultest")
		link1, prog1 := linkInfo(t, pin)
		require.NoError(t, dp1.Close())

		dp2, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		defer dp2.Close()
		mode, err = dp2.AttachXDP("ultest", veth, loader.XDPNative)
		require.NoError(t, err)
		require.Equal(t, loader.XDPNative, mode)
		link2, prog2 := linkInfo(t, pin)
		require.Equal(t, link1, link2, "same link, upgraded in place")
		require.NotEqual(t, prog1, prog2, "new program")

		mode, err = dp2.AttachXDP("lo", loIdx, loader.XDPNative)
		require.NoError(t, err)
		require.Equal(t, loader.XDPGeneric, mode, "loopback has no native XDP")
		require.Equal(t, loader.XDPGeneric, loader.XDPAttachMode(loIdx))

		mode, err = dp2.AttachXDP("ultest", veth, loader.XDPGeneric)
		require.NoError(t, err)
		require.Equal(t, loader.XDPGeneric, mode)
		require.Equal(t, loader.XDPGeneric, loader.XDPAttachMode(veth))

		require.NoError(t, dp2.DetachXDP("ultest"))
		require.NoError(t, dp2.DetachXDP("lo"))
		require.Equal(t, loader.XDPOff, loader.XDPAttachMode(veth))
		require.Equal(t, loader.XDPOff, loader.XDPAttachMode(loIdx))
		require.NoError(t, dp2.DetachXDP("ultest"), "detaching nothing is no error")

		_, err = dp2.AttachXDP("ultest", veth, loader.XDPOff)
		require.Error(t, err)
		_, err = loader.ParseXDPMode("fast")
		require.ErrorContains(t, err, `XDP mode "fast": want auto, native, generic or off`)
	})
}
