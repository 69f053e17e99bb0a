package store

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

// checkNetworks runs the network contract on a and b, two handles of one store (two nodes
// of one etcd, or one bbolt file opened once): a network created through one is listed by
// both; a second one with a taken name, id or VNI is refused and nothing changes.
func checkNetworks(t *testing.T, a, b Store) {
	ctx := t.Context()
	front := api.Network{Name: "front", ID: 1, Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: 4096, Mode: api.NetworkModeVXLAN, HostNAT: true, HostPorts: true}
	back := api.Network{Name: "back", ID: 2, Subnet: netip.MustParsePrefix("10.44.0.0/16"), VNI: 4097, Mode: api.NetworkModeVXLAN, Internal: true}
	require.NoError(t, a.CreateNetwork(ctx, front))
	require.NoError(t, b.CreateNetwork(ctx, back))
	for _, clash := range []struct {
		n    api.Network
		want string
	}{
		{api.Network{Name: "front", ID: 3, VNI: 5000}, `network "front"`},
		{api.Network{Name: "x", ID: 2, VNI: 5000}, "network id 2 (network back)"},
		{api.Network{Name: "x", ID: 3, VNI: 4096}, "VNI 4096 (network front)"},
	} {
		err := b.CreateNetwork(ctx, clash.n)
		require.ErrorIs(t, err, ErrExists)
		require.ErrorContains(t, err, clash.want)
	}
	for _, s := range []Store{a, b} {
		ns, err := s.Networks(ctx)
		require.NoError(t, err)
		require.Equal(t, []api.Network{back, front}, ns)
	}
	require.NoError(t, a.DeleteNetwork(ctx, "back"))
	require.ErrorIs(t, b.DeleteNetwork(ctx, "back"), ErrNotFound)
	back.VNI, back.ID = 4096+1, 2 // its id and VNI are free again
	back.Name = "back2"
	require.NoError(t, b.CreateNetwork(ctx, back))
	ns, err := a.Networks(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.Network{back, front}, ns)
}

func TestLocalNetworks(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	require.NoError(t, err)
	defer s.Close()
	checkNetworks(t, s, s)
}

func TestEtcdNetworksClusterWide(t *testing.T) {
	t.Parallel()
	e, prefix := sharedEtcd(t), testPrefix(t)
	checkNetworks(t, openNode(t, e, prefix, "n1"), openNode(t, e, prefix, "n2"))
}
