package loader_test

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
)

// pinOldLayout pins, under dir, map name as a previous build laid it out: this build's spec
// with valueSize and maxEntries changed (0 keeps them), without BTF.
func pinOldLayout(t *testing.T, dir, name string, valueSize, maxEntries uint32) *ebpf.Map {
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)
	ms := spec.Maps[name].Copy()
	ms.Pinning, ms.Key, ms.Value = ebpf.PinNone, nil, nil
	if valueSize > 0 {
		ms.ValueSize = valueSize
	}
	if maxEntries > 0 {
		ms.MaxEntries = maxEntries
	}
	m, err := ebpf.NewMap(ms)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	require.NoError(t, m.Pin(filepath.Join(dir, name)))
	return m
}

func mapID(t *testing.T, m *ebpf.Map) ebpf.MapID {
	info, err := m.Info()
	require.NoError(t, err)
	id, _ := info.ID()
	return id
}

func pinnedID(t *testing.T, dir, name string) ebpf.MapID {
	m, err := ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
	require.NoError(t, err)
	defer m.Close()
	return mapID(t, m)
}

// TestUpgradeReplacesNodeConfig: a pin dir of the previous release (40-byte node_config,
// 20 metrics) is upgraded in place: node_config is replaced by this build's layout carrying
// the old fields (policy still enforced), metrics grows with its counters, state maps keep
// their identity and entries, new maps are created.
func TestUpgradeReplacesNodeConfig(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		// State maps of this build's layout, with an entry.
		dp0, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		ep := maps.Endpoint{IP: netip.MustParseAddr("10.42.1.2"), IfIndex: 7, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Identity: 300}
		require.NoError(t, dp0.Maps().Endpoints.Put(ep))
		require.NoError(t, dp0.Close())
		epID := pinnedID(t, dir, bpf.DatapathMapEndpoints)

		// The previous release's node_config and metrics, and no peers/frag_verdicts/ct_quota.
		for _, name := range []string{bpf.DatapathMapNodeConfig, bpf.DatapathMapMetrics,
			bpf.DatapathMapPeers, bpf.DatapathMapFragVerdicts, bpf.DatapathMapCtQuota} {
			require.NoError(t, os.Remove(filepath.Join(dir, name)))
		}
		// underlay 172.31.0.1, VNI 1042, ..., policy_enforce 1 at byte 36, policy_default 0.
		oldNode := make([]byte, 40)
		copy(oldNode, []byte{172, 31, 0, 1, 0x12, 0x04, 0, 0})
		oldNode[36] = 1
		node := pinOldLayout(t, dir, bpf.DatapathMapNodeConfig, 40, 0)
		require.NoError(t, node.Put(uint32(0), oldNode))
		metrics := pinOldLayout(t, dir, bpf.DatapathMapMetrics, 0, 20)
		counts := make([]bpf.DatapathMetricValue, ebpf.MustPossibleCPU())
		counts[0] = bpf.DatapathMetricValue{Packets: 7, Bytes: 700}
		require.NoError(t, metrics.Put(uint32(bpf.DatapathMetricMETRIC_FWD_LOCAL), counts))

		dp, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		defer dp.Close()
		require.NotEqual(t, mapID(t, node), pinnedID(t, dir, bpf.DatapathMapNodeConfig), "node_config replaced")
		require.Equal(t, epID, pinnedID(t, dir, bpf.DatapathMapEndpoints), "endpoints kept")
		got, err := dp.Maps().Endpoints.Lookup(ep.IP)
		require.NoError(t, err)
		require.Equal(t, ep, got)

		n, err := dp.Maps().Node.Get()
		require.NoError(t, err)
		require.Equal(t, netip.MustParseAddr("172.31.0.1"), n.UnderlayIP)
		require.Equal(t, uint32(1042), n.VNI)
		require.True(t, n.PolicyEnforce, "policy stays enforced across the upgrade")
		require.False(t, n.PolicyDefault)
		require.Zero(t, n.PolicyRev)

		var oldStill []byte
		require.NoError(t, node.Lookup(uint32(0), &oldStill))
		require.True(t, bytes.Equal(oldNode, oldStill), "the old programs' map is left as it was")

		c, err := dp.Maps().Metrics.Read()
		require.NoError(t, err)
		require.Equal(t, uint64(7), c[bpf.DatapathMetricMETRIC_FWD_LOCAL].Packets, "counters carried")
		for _, name := range []string{bpf.DatapathMapPeers, bpf.DatapathMapFragVerdicts, bpf.DatapathMapCtQuota} {
			require.NotZero(t, pinnedID(t, dir, name), name+" created")
		}
	})
}

// TestUpgradeRefusesStateWithoutMigration: a stateful map of another layout (ct with a
// 16-byte value) is refused with its name and both layouts, and nothing is changed (the
// old-layout node_config beside it stays pinned).
func TestUpgradeRefusesStateWithoutMigration(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		require.NoError(t, loader.EnsurePinDir(dir))
		node := pinOldLayout(t, dir, bpf.DatapathMapNodeConfig, 40, 0)
		pinOldLayout(t, dir, bpf.DatapathMapCt, 16, 0)
		_, err := loader.Load(dir, loader.Options{})
		require.ErrorIs(t, err, ebpf.ErrMapIncompatible)
		require.ErrorContains(t, err, "map ct is Hash key 16 B value 16 B 262144 entries, this build needs Hash key 16 B value 24 B 262144 entries")
		require.Equal(t, mapID(t, node), pinnedID(t, dir, bpf.DatapathMapNodeConfig), "nothing replaced")
	})
}

// TestUpgradeRemovesLeftoverPins: the temporary pin of an upgrade that died before its rename
// is removed at the next load.
func TestUpgradeRemovesLeftoverPins(t *testing.T) {
	inNewNetns(t, func() {
		dir := pinDir(t)
		require.NoError(t, loader.EnsurePinDir(dir))
		m := pinOldLayout(t, dir, bpf.DatapathMapNodeConfig, 40, 0)
		require.NoError(t, m.Pin(filepath.Join(dir, "upgrading_node_config")))
		dp, err := loader.Load(dir, loader.Options{})
		require.NoError(t, err)
		defer dp.Close()
		_, err = os.Stat(filepath.Join(dir, "upgrading_node_config"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
