package maps

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCTEntryOwner: the endpoint an entry is charged to, as bpf/lib/ct_quota.h charges it.
func TestCTEntryOwner(t *testing.T) {
	c1, c2 := netip.MustParseAddr("10.42.1.2"), netip.MustParseAddr("10.42.1.3")
	remote, out := netip.MustParseAddr("10.42.2.5"), netip.MustParseAddr("192.0.2.1")
	local := map[netip.Addr]bool{c1: true, c2: true}
	for _, tc := range []struct {
		e    CTEntry
		want netip.Addr
	}{
		{CTEntry{Dir: CTPolicy, Src: c1, Dst: c2}, c1},     // the sender of a local flow
		{CTEntry{Dir: CTPolicy, Src: remote, Dst: c2}, c2}, // from another host: the receiver
		{CTEntry{Dir: CTPolicy, Src: c1, Dst: remote}, c1}, // to another host
		{CTEntry{Dir: CTSNATOut, Src: c1, Dst: out}, c1},   // masquerade, outbound half
		{CTEntry{Dir: CTSNATIn, Src: out, Addr: c1}, c1},   // masquerade, reply half
		{CTEntry{Dir: CTDNATReply, Src: c2, Dst: out}, c2}, // published port's container
		{CTEntry{Dir: CTPolicy, Src: remote, Dst: out}, netip.Addr{}},
	} {
		require.Equal(t, tc.want, tc.e.Owner(local), "%+v", tc.e)
	}
}
