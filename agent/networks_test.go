package agent

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// networkAgent is testAgent with the default cluster network, the networks map faked and
// the given stored endpoints.
func networkAgent(t *testing.T, eps ...api.Endpoint) *Agent {
	a := testAgent(t, domainMaps{networks: &fakeNetworks{byID: map[uint16]maps.Network{}}}, eps...)
	a.cfg = Config{HostNAT: true}
	a.node = api.Node{Cluster: netip.MustParsePrefix(DefaultCluster), VNI: DefaultVNI, MTU: 1450, UnderlayIP: netip.MustParseAddr("172.31.0.1")}
	return a
}

func boolp(b bool) *bool { return &b }

// fakeNetworks is the networks maps in memory, by id.
type fakeNetworks struct{ byID map[uint16]maps.Network }

func (f *fakeNetworks) Put(n maps.Network) error { f.byID[n.ID] = n; return nil }
func (f *fakeNetworks) Clear(id uint16) error    { delete(f.byID, id); return nil }
func (f *fakeNetworks) DeleteSubnet(p netip.Prefix) error {
	for id, n := range f.byID {
		if n.Subnet == p {
			n.Subnet = netip.Prefix{}
			f.byID[id] = n
		}
	}
	return nil
}
func (f *fakeNetworks) DeleteVNI(vni uint32) error { return nil }
func (f *fakeNetworks) Entries() (maps.NetworkEntries, error) {
	e := maps.NetworkEntries{Subnets: map[netip.Prefix]uint16{}, VNIs: map[uint32]uint16{}}
	for id, n := range f.byID {
		e.IDs = append(e.IDs, id)
		if id != 0 {
			e.Subnets[n.Subnet], e.VNIs[n.VNI] = id, id
		}
	}
	return e, nil
}

func TestNetworkCreateListDelete(t *testing.T) {
	a := networkAgent(t, api.Endpoint{Name: "web1", IP: netip.MustParseAddr("10.43.0.5"), Network: "front"},
		api.Endpoint{Name: "old1", IP: netip.MustParseAddr("10.42.0.5")})
	ctx := t.Context()
	front, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16"})
	require.NoError(t, err)
	require.Equal(t, api.Network{Name: "front", ID: 1, Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: FirstNetworkVNI,
		Mode: api.NetworkModeVXLAN, HostNAT: true, HostPorts: true, NodePrefixLen: 24}, front)
	back, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "back", Subnet: "10.44.0.0/24", VNI: 77, HostNAT: boolp(false), HostPorts: boolp(false), MTU: 1400})
	require.NoError(t, err)
	require.Equal(t, api.Network{Name: "back", ID: 2, Subnet: netip.MustParsePrefix("10.44.0.0/24"), VNI: 77,
		Mode: api.NetworkModeVXLAN, MTU: 1400, NodePrefixLen: 28}, back)

	ns, err := a.Networks(ctx)
	require.NoError(t, err)
	require.Equal(t, []api.NetworkInfo{
		{Network: a.defaultNetwork(), Endpoints: []string{"old1"}, Slices: []api.NetworkSlice{}},
		{Network: back, Endpoints: []string{}, Slices: []api.NetworkSlice{}},
		{Network: front, Endpoints: []string{"web1"}, Slices: []api.NetworkSlice{}},
	}, ns)
	require.Equal(t, api.Network{Name: "default", Subnet: netip.MustParsePrefix("10.42.0.0/16"), VNI: 1042, Mode: "vxlan", HostNAT: true, HostPorts: true}, ns[0].Network)

	err = a.DeleteNetwork(ctx, "front")
	require.ErrorIs(t, err, api.ErrConflict)
	require.EqualError(t, err, "network front has 1 endpoints attached (web1): disconnect or delete them first")
	require.ErrorIs(t, a.DeleteNetwork(ctx, "default"), api.ErrConflict)
	require.ErrorIs(t, a.DeleteNetwork(ctx, "nope"), api.ErrNotFound)
	dp := a.dmaps.networks.(*fakeNetworks).byID
	require.Equal(t, maps.Network{ID: 2, Subnet: back.Subnet, VNI: 77}, dp[2])
	require.Equal(t, maps.Network{ID: 1, Subnet: front.Subnet, VNI: FirstNetworkVNI, HostNAT: true, HostPorts: true}, dp[1])
	require.NoError(t, a.DeleteNetwork(ctx, "back"))
	require.NotContains(t, dp, uint16(2), "its datapath entry is cleared")
	_, err = a.Network(ctx, "back")
	require.ErrorIs(t, err, api.ErrNotFound)
	again, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "back2", Subnet: "10.44.0.0/24"})
	require.NoError(t, err)
	require.Equal(t, uint16(2), again.ID, "the lowest free id is reused")
	require.Equal(t, uint32(FirstNetworkVNI+1), again.VNI, "the lowest free VNI from 4096")
}

// TestNetworkInternal: an --internal network has no masquerade and no published ports, and
// the datapath gets its flag.
func TestNetworkInternal(t *testing.T) {
	a := networkAgent(t)
	n, err := a.CreateNetwork(t.Context(), api.NetworkRequest{Name: "back", Subnet: "10.44.0.0/16", Internal: true, HostNAT: boolp(true)})
	require.NoError(t, err)
	require.Equal(t, api.Network{Name: "back", ID: 1, Subnet: netip.MustParsePrefix("10.44.0.0/16"), VNI: FirstNetworkVNI, Mode: "vxlan", Internal: true, NodePrefixLen: 24}, n)
	require.Equal(t, maps.Network{ID: 1, Subnet: n.Subnet, VNI: FirstNetworkVNI, Internal: true}, a.dmaps.networks.(*fakeNetworks).byID[1])
	err = a.checkHostPorts(t.Context(), api.Endpoint{Name: "b1", Network: "back"})
	require.ErrorIs(t, err, api.ErrConflict)
	require.EqualError(t, err, "endpoint b1: network back allows no published ports (--host-ports=false)")
}

// TestNetworkCreateBadInput: every refusal has its kind and a message naming the problem,
// and nothing is stored.
func TestNetworkCreateBadInput(t *testing.T) {
	a := networkAgent(t)
	ctx := t.Context()
	_, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16", VNI: 5000})
	require.NoError(t, err)
	cases := []struct {
		name string
		req  api.NetworkRequest
		kind error
		want string
	}{
		{"bad name", api.NetworkRequest{Name: "a/b", Subnet: "10.50.0.0/16"}, api.ErrInvalid, `invalid network name "a/b"`},
		{"empty name", api.NetworkRequest{Subnet: "10.50.0.0/16"}, api.ErrInvalid, `invalid network name ""`},
		{"default name", api.NetworkRequest{Name: "default", Subnet: "10.50.0.0/16"}, api.ErrConflict, "network default exists"},
		{"taken name", api.NetworkRequest{Name: "front", Subnet: "10.50.0.0/16"}, api.ErrConflict, "network front already exists (subnet 10.43.0.0/16, VNI 5000)"},
		{"no subnet", api.NetworkRequest{Name: "x"}, api.ErrInvalid, `invalid subnet "": want an IPv4 CIDR`},
		{"IPv6 subnet", api.NetworkRequest{Name: "x", Subnet: "fd00::/64"}, api.ErrInvalid, `invalid subnet "fd00::/64"`},
		{"host bits", api.NetworkRequest{Name: "x", Subnet: "10.50.0.1/16"}, api.ErrInvalid, "host bits set (did you mean 10.50.0.0/16?)"},
		{"too small", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/31"}, api.ErrInvalid, "want a prefix length of /8 to /30"},
		{"overlaps default", api.NetworkRequest{Name: "x", Subnet: "10.42.7.0/24"}, api.ErrConflict, "subnet 10.42.7.0/24 overlaps network default (10.42.0.0/16)"},
		{"contains another", api.NetworkRequest{Name: "x", Subnet: "10.0.0.0/8"}, api.ErrConflict, "subnet 10.0.0.0/8 overlaps network default (10.42.0.0/16)"},
		{"overlaps front", api.NetworkRequest{Name: "x", Subnet: "10.43.128.0/17"}, api.ErrConflict, "subnet 10.43.128.0/17 overlaps network front (10.43.0.0/16)"},
		{"underlay inside", api.NetworkRequest{Name: "x", Subnet: "172.31.0.0/24"}, api.ErrInvalid, "contains this node's underlay IP 172.31.0.1"},
		{"VNI in use", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", VNI: 5000}, api.ErrConflict, "VNI 5000 is in use by network front"},
		{"default VNI in use", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", VNI: 1042}, api.ErrConflict, "VNI 1042 is in use by network default"},
		{"VNI too big", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", VNI: 1 << 24}, api.ErrInvalid, "invalid VNI 16777216: want 1..16777215"},
		{"bad mode", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", Mode: "gre"}, api.ErrInvalid, `invalid mode "gre": want vxlan or native`},
		{"bad policy", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", DefaultPolicy: "drop"}, api.ErrInvalid, `invalid default policy "drop": want allow or deny`},
		{"MTU too big", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", MTU: 1451}, api.ErrInvalid, "invalid MTU 1451: want 68..1450"},
		{"slice wider than subnet", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", NodePrefixLen: 12}, api.ErrInvalid, "invalid node prefix length /12 for subnet 10.50.0.0/16: want /16 to /30"},
		{"slice too small", api.NetworkRequest{Name: "x", Subnet: "10.50.0.0/16", NodePrefixLen: 31}, api.ErrInvalid, "invalid node prefix length /31 for subnet 10.50.0.0/16: want /16 to /30"},
		{"too many slices", api.NetworkRequest{Name: "x", Subnet: "11.0.0.0/8", NodePrefixLen: 30}, api.ErrInvalid, "invalid node prefix length /30 for subnet 11.0.0.0/8: want /8 to /24 (at most 65536 slices, one per node)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.CreateNetwork(ctx, tc.req)
			require.ErrorIs(t, err, tc.kind)
			require.ErrorContains(t, err, tc.want)
			ns, err := a.store.Networks(ctx)
			require.NoError(t, err)
			require.Len(t, ns, 1, "nothing stored")
		})
	}
}

// TestSyncNetworksSweeps: syncNetworks writes every stored network and removes what the maps
// hold beyond them (a network removed on another node, a changed subnet or VNI).
func TestSyncNetworksSweeps(t *testing.T) {
	a := networkAgent(t)
	ctx := t.Context()
	front, err := a.CreateNetwork(ctx, api.NetworkRequest{Name: "front", Subnet: "10.43.0.0/16", VNI: 4096})
	require.NoError(t, err)
	rec := &recordingNetworks{fakeNetworks: fakeNetworks{byID: map[uint16]maps.Network{}}}
	a.dmaps.networks = rec
	stale := []maps.Network{
		{ID: 1, Subnet: netip.MustParsePrefix("10.99.0.0/16"), VNI: 9999}, // front's old subnet and VNI
		{ID: 7, Subnet: netip.MustParsePrefix("10.98.0.0/16"), VNI: 7777}, // a removed network
	}
	for _, n := range stale {
		require.NoError(t, rec.Put(n))
	}
	rec.subnets = map[netip.Prefix]uint16{stale[0].Subnet: 1, stale[1].Subnet: 7}
	rec.vnis = map[uint32]uint16{9999: 1, 7777: 7}
	require.NoError(t, a.syncNetworks(ctx))
	require.ElementsMatch(t, []string{"subnet 10.99.0.0/16", "subnet 10.98.0.0/16", "vni 9999", "vni 7777", "clear 7"}, rec.deleted)
	require.Equal(t, datapathNetwork(front), rec.byID[1])
	require.Contains(t, rec.byID, uint16(0), "the default network's entry")
}

// recordingNetworks is fakeNetworks whose subnet and VNI entries are set by the test (stale
// ones included) and whose deletions are recorded.
type recordingNetworks struct {
	fakeNetworks
	subnets map[netip.Prefix]uint16
	vnis    map[uint32]uint16
	deleted []string
}

func (r *recordingNetworks) Clear(id uint16) error {
	r.deleted = append(r.deleted, fmt.Sprint("clear ", id))
	return r.fakeNetworks.Clear(id)
}

func (r *recordingNetworks) DeleteSubnet(p netip.Prefix) error {
	r.deleted = append(r.deleted, "subnet "+p.String())
	delete(r.subnets, p)
	return nil
}

func (r *recordingNetworks) DeleteVNI(vni uint32) error {
	r.deleted = append(r.deleted, fmt.Sprint("vni ", vni))
	delete(r.vnis, vni)
	return nil
}

func (r *recordingNetworks) Entries() (maps.NetworkEntries, error) {
	e, _ := r.fakeNetworks.Entries()
	for p, id := range r.subnets {
		e.Subnets[p] = id
	}
	for v, id := range r.vnis {
		e.VNIs[v] = id
	}
	return e, nil
}
