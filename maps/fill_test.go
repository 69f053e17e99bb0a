package maps

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/policy"
)

// newMap creates an unpinned map like the datapath's named one, resized to maxEntries.
func newMap(t *testing.T, spec *ebpf.CollectionSpec, name string, maxEntries uint32) *ebpf.Map {
	t.Helper()
	ms := spec.Maps[name].Copy()
	ms.Pinning = ebpf.PinNone
	if maxEntries > 0 {
		ms.MaxEntries = maxEntries
	}
	m, err := ebpf.NewMap(ms)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// A full 262,144-entry ct map (the default --ct-max) is counted exactly, by kind, with its
// masquerade ports, and so is an LPM trie (no batch support); arrays are left out.
func TestFillsFullCT(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create BPF maps")
	}
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)
	const full = 262144
	raw := &bpf.DatapathMaps{
		Ct:      newMap(t, spec, "ct", full),
		Ipcache: newMap(t, spec, "ipcache", 0),
		Metrics: newMap(t, spec, "metrics", 0),
	}
	keys := make([]bpf.DatapathCtKey, full)
	vals := make([]bpf.DatapathCtEntry, full)
	for i := range keys {
		// Each masquerade flow is a pair: snat-out keyed by the container tuple, translated to
		// one of 1,000 NAT ports, and its snat-in reply entry.
		keys[i] = bpf.DatapathCtKey{Saddr: uint32(i), Daddr: 1, Sport: uint16(i), Dport: 80, Proto: policy.ProtoUDP, Dir: bpf.DatapathCtDir(CTSNATOut)}
		if i%2 == 1 {
			keys[i].Dir = bpf.DatapathCtDir(CTSNATIn)
		}
		vals[i] = bpf.DatapathCtEntry{Port: uint16(32768 + i/2%1000)}
	}
	_, err = raw.Ct.BatchUpdate(keys, vals, nil)
	require.NoError(t, err)
	require.NoError(t, raw.Ipcache.Put(bpf.DatapathIpcacheKey{Prefixlen: 24, Ip: 1}, bpf.DatapathIpcacheInfo{}))
	require.NoError(t, raw.Ipcache.Put(bpf.DatapathIpcacheKey{Prefixlen: 32, Ip: 2}, bpf.DatapathIpcacheInfo{}))

	set := NewSet(raw)
	start := time.Now()
	fills, err := set.Fills(nil)
	took := time.Since(start)
	require.NoError(t, err)
	want := []Fill{{Map: "ct", Entries: full, Capacity: full}, {Map: "ipcache", Entries: 2, Capacity: 16384}}
	require.Equal(t, want, fills)
	fills, err = set.Fills(map[string]int{"ct": 7})
	require.NoError(t, err)
	want[0].Entries = 7
	require.Equal(t, want, fills, "a counted map is taken as counted")

	start = time.Now()
	s, err := set.CT.Summary()
	tookSummary := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, full, s.Entries)
	require.Equal(t, map[CTDir]int{CTSNATOut: full / 2, CTSNATIn: full / 2}, s.ByKind)
	require.Equal(t, map[uint8]int{policy.ProtoUDP: 1000}, s.NATPorts)
	t.Logf("full ct map (%d entries): Fills %v, CT.Summary %v", full, took, tookSummary)
}
