package maps

import (
	"errors"
	"reflect"

	"github.com/cilium/ebpf"
)

// Fill is how full one keyed map is.
type Fill struct {
	Map      string // map name as pinned, e.g. "ct"
	Entries  int    // keys present at the time of the walk
	Capacity int    // max_entries
}

// fillBatch is the number of keys one BPF_MAP_LOOKUP_BATCH call returns.
const fillBatch = 4096

// Fills counts the entries of every keyed map of the datapath (hash, LRU hash and LPM trie,
// found from the bpf2go map list, so maps added later are included), in the order of
// bpf.DatapathMaps. Arrays (always full) and ring buffers (no entries) are left out.
//
// Cost: one BPF_MAP_LOOKUP_BATCH syscall per 4,096 entries of hash maps (a full 262,144-entry
// ct map is 64 calls, 60-110 ms on a loaded 2-core machine), one BPF_MAP_GET_NEXT_KEY syscall per entry of
// maps without batch support (LPM trie, per-CPU hashes). Entries are counted while the
// datapath writes, so the figure is a snapshot, not exact. counted holds entry counts the
// caller already has (e.g. "ct" from CT.Summary), by map name; those maps are not walked.
func (s Set) Fills(counted map[string]int) ([]Fill, error) {
	var out []Fill
	v := reflect.ValueOf(s.raw).Elem()
	for i := range v.NumField() {
		em, ok := v.Field(i).Interface().(*ebpf.Map)
		if !ok || em == nil || !keyed(em.Type()) {
			continue
		}
		name := v.Type().Field(i).Tag.Get("ebpf")
		n, ok := counted[name]
		if !ok {
			var err error
			if n, err = countKeys(em); err != nil {
				return nil, mapErr(em, "count", err)
			}
		}
		out = append(out, Fill{Map: name, Entries: n, Capacity: int(em.MaxEntries())})
	}
	return out, nil
}

// keyed reports whether maps of type t hold a varying number of keys.
func keyed(t ebpf.MapType) bool {
	switch t {
	case ebpf.Hash, ebpf.LRUHash, ebpf.PerCPUHash, ebpf.LRUCPUHash, ebpf.LPMTrie:
		return true
	}
	return false
}

// countKeys counts m's keys with batch lookups, or key by key where batches are unsupported.
func countKeys(m *ebpf.Map) (int, error) {
	if m.Type() == ebpf.Hash || m.Type() == ebpf.LRUHash {
		return countBatch(m)
	}
	return countNextKey(m)
}

// countBatch counts with BPF_MAP_LOOKUP_BATCH into slices of opaque fixed-size keys and values.
func countBatch(m *ebpf.Map) (int, error) {
	keys := reflect.MakeSlice(reflect.SliceOf(reflect.ArrayOf(int(m.KeySize()), reflect.TypeFor[byte]())), fillBatch, fillBatch)
	vals := reflect.MakeSlice(reflect.SliceOf(reflect.ArrayOf(int(m.ValueSize()), reflect.TypeFor[byte]())), fillBatch, fillBatch)
	var (
		cursor ebpf.MapBatchCursor
		total  int
	)
	for {
		n, err := m.BatchLookup(&cursor, keys.Interface(), vals.Interface(), nil)
		total += n
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// countNextKey counts by walking BPF_MAP_GET_NEXT_KEY.
func countNextKey(m *ebpf.Map) (int, error) {
	var (
		key any // nil: start from the first key
		n   int
	)
	for {
		next, err := m.NextKeyBytes(key)
		if err != nil {
			return 0, err
		}
		if next == nil {
			return n, nil
		}
		n++
		key = next
	}
}
