package maps

import (
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// TestNetworksView: networks written through the view come back from Entries as the three
// maps hold them (the default network, id 0, only in networks), and each delete removes
// exactly its entry.
func TestNetworksView(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create BPF maps")
	}
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)
	n := NewNetworks(newMap(t, spec, "networks", 0), newMap(t, spec, "network_subnets", 0), newMap(t, spec, "network_vnis", 0))
	front := Network{ID: 1, Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: 4096, HostNAT: true}
	back := Network{ID: 2, Subnet: netip.MustParsePrefix("10.44.1.0/24"), VNI: 4097, Internal: true}
	for _, nw := range []Network{{ID: 0, VNI: 1042}, front, back} {
		require.NoError(t, n.Put(nw))
	}
	require.ErrorContains(t, n.Put(Network{ID: MaxNetworks}), "network id 1024: want 0..1023")
	e, err := n.Entries()
	require.NoError(t, err)
	require.ElementsMatch(t, []uint16{0, 1, 2}, e.IDs)
	require.Equal(t, map[netip.Prefix]uint16{front.Subnet: 1, back.Subnet: 2}, e.Subnets)
	require.Equal(t, map[uint32]uint16{4096: 1, 4097: 2}, e.VNIs)

	var info bpf.DatapathNetworkInfo
	require.NoError(t, n.info.Lookup(uint32(2), &info))
	require.Equal(t, bpf.DatapathNetworkInfo{Vni: 4097, Flags: bpf.DatapathNetworkFlagNETWORK_F_VALID | bpf.DatapathNetworkFlagNETWORK_F_INTERNAL}, info)

	require.NoError(t, n.Clear(2))
	require.NoError(t, n.DeleteSubnet(back.Subnet))
	require.NoError(t, n.DeleteVNI(back.VNI))
	require.ErrorIs(t, n.DeleteSubnet(back.Subnet), ErrNotFound)
	require.ErrorIs(t, n.DeleteVNI(back.VNI), ErrNotFound)
	e, err = n.Entries()
	require.NoError(t, err)
	require.ElementsMatch(t, []uint16{0, 1}, e.IDs)
	require.Equal(t, map[netip.Prefix]uint16{front.Subnet: 1}, e.Subnets)
	require.Equal(t, map[uint32]uint16{4096: 1}, e.VNIs)
}
