package agent

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMeshPortSlice: each pod CIDR of the cluster gets its own equal slice of the mesh port
// range, slices of different nodes never overlap, and bad ranges are refused.
func TestMeshPortSlice(t *testing.T) {
	cluster := netip.MustParsePrefix("10.42.0.0/16")
	slice := func(pod string) [2]uint16 {
		s, err := meshPortSlice(AllMeshPorts, cluster, netip.MustParsePrefix(pod))
		require.NoError(t, err)
		return s
	}
	require.Equal(t, [2]uint16{1024, 1275}, slice("10.42.0.0/24"), "252 ports each with /16 and /24")
	require.Equal(t, [2]uint16{1276, 1527}, slice("10.42.1.0/24"))
	require.Equal(t, [2]uint16{1024 + 255*252, 1024 + 256*252 - 1}, slice("10.42.255.0/24"))
	require.Equal(t, [2]uint16{1024 + 2*16128, 1024 + 3*16128 - 1}, slice("10.42.128.0/18"), "4 slots of /18")

	s, err := meshPortSlice([2]uint16{40000, 40009}, cluster, netip.Prefix{})
	require.NoError(t, err)
	require.Equal(t, [2]uint16{40000, 40009}, s, "no pod CIDR: the whole range")

	for _, bad := range []struct {
		ports [2]uint16
		pod   string
		msg   string
	}{
		{[2]uint16{0, 100}, "10.42.1.0/24", "want 1 <= first <= last"},
		{[2]uint16{2000, 1000}, "10.42.1.0/24", "want 1 <= first <= last"},
		{[2]uint16{1000, 1100}, "10.42.1.0/24", "fewer ports than the 256 pod CIDRs /24"},
		{AllMeshPorts, "10.43.1.0/24", "not inside the cluster CIDR"},
	} {
		_, err := meshPortSlice(bad.ports, cluster, netip.MustParsePrefix(bad.pod))
		require.ErrorContains(t, err, bad.msg, "%v %s", bad.ports, bad.pod)
	}
}
