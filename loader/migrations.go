package loader

import (
	"fmt"
	"reflect"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// copyFunc copies the entries of a pinned map of an older layout into a new map.
type copyFunc func(old, updated *ebpf.Map) error

// migration returns how to copy old into a map of spec's layout, or nil when it does not
// apply to that pair of layouts.
type migration func(old *ebpf.Map, spec *ebpf.MapSpec) copyFunc

// upgradeRule says what an upgrade may do with one map whose pinned layout differs.
type upgradeRule struct {
	// rewritten: the agent writes the map in full at every start (or it holds only a cache or
	// events in flight), so it may be replaced empty when no migration applies.
	rewritten bool
	migrate   migration // nil: none defined
}

// migration returns the copy of the rule's migration for old → spec, nil when none applies.
func (r upgradeRule) migration(old *ebpf.Map, spec *ebpf.MapSpec) copyFunc {
	if r.migrate == nil {
		return nil
	}
	return r.migrate(old, spec)
}

// upgradeRules lists the maps an upgrade may replace or migrate; every other map holds state
// (endpoints, ipcache, peers, ct, ct_quota, policy, published) and is refused on a layout
// change until a migration is defined for it here.
var upgradeRules = map[string]upgradeRule{
	// The agent writes node_config in full at start, but keeps the policy fields in force
	// until reconcile swaps in the stored policy. Fields are only ever appended or take a
	// zeroed pad (release cf26e60's 40-byte node_params: policy_rev took pad2, so the old
	// value reads as revision 0, the generation its policy entries carry), so the old value
	// zero-extended keeps policy enforced across the upgrade.
	bpf.DatapathMapNodeConfig: {rewritten: true, migrate: extendValues},
	// Counters by enum metric / rule index: new reasons are appended (metrics 20 → 26 → 32).
	bpf.DatapathMapMetrics:     {migrate: growEntries},
	bpf.DatapathMapPolicyDrops: {migrate: growEntries},
	// Events in flight and a cache of fragment verdicts: nothing to carry.
	bpf.DatapathMapDropEvents:   {rewritten: true},
	bpf.DatapathMapFragVerdicts: {rewritten: true},
}

// sameShape reports whether old and spec differ at most in what the caller allows.
func sameShape(old *ebpf.Map, spec *ebpf.MapSpec) bool {
	return old.Type() == spec.Type && old.KeySize() == spec.KeySize && old.Flags() == spec.Flags
}

// growEntries applies when only max_entries grew: every entry is copied by key.
func growEntries(old *ebpf.Map, spec *ebpf.MapSpec) copyFunc {
	if !sameShape(old, spec) || old.ValueSize() != spec.ValueSize || old.MaxEntries() > spec.MaxEntries {
		return nil
	}
	return func(old, updated *ebpf.Map) error {
		return copyEntries(old, updated, func(v reflect.Value) any { return v.Interface() })
	}
}

// extendValues applies when only the value grew, by fields appended at its end (or taking
// zeroed padding), and the map is not per-CPU: each value is copied zero-extended.
func extendValues(old *ebpf.Map, spec *ebpf.MapSpec) copyFunc {
	if !sameShape(old, spec) || perCPU(old.Type()) || old.MaxEntries() != spec.MaxEntries ||
		old.ValueSize() >= spec.ValueSize {
		return nil
	}
	return func(old, updated *ebpf.Map) error {
		return copyEntries(old, updated, func(v reflect.Value) any {
			out := make([]byte, updated.ValueSize())
			copy(out, v.Bytes())
			return out
		})
	}
}

// copyEntries writes every entry of old into updated, converting each value with conv
// (given the looked-up value: a []byte, or for per-CPU maps a slice of byte arrays).
func copyEntries(old, updated *ebpf.Map, conv func(reflect.Value) any) error {
	key := make([]byte, old.KeySize())
	val := valueHolder(old)
	it := old.Iterate()
	for it.Next(&key, val.Interface()) {
		if err := updated.Put(key, conv(val.Elem())); err != nil {
			return fmt.Errorf("put key %x: %w", key, err)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	return nil
}

// valueHolder returns a pointer to a value buffer of m's layout: *[]byte, or for per-CPU maps
// *[][valueSize]byte (one element per possible CPU, as cilium/ebpf expects).
func valueHolder(m *ebpf.Map) reflect.Value {
	if perCPU(m.Type()) {
		elem := reflect.ArrayOf(int(m.ValueSize()), reflect.TypeFor[byte]())
		return reflect.New(reflect.SliceOf(elem))
	}
	v := reflect.New(reflect.TypeFor[[]byte]())
	v.Elem().Set(reflect.ValueOf(make([]byte, m.ValueSize())))
	return v
}

// perCPU reports whether t keeps one value per CPU (cilium/ebpf's own test is unexported).
func perCPU(t ebpf.MapType) bool {
	return t == ebpf.PerCPUHash || t == ebpf.PerCPUArray || t == ebpf.LRUCPUHash || t == ebpf.PerCPUCGroupStorage
}
