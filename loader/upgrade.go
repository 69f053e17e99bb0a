package loader

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
)

// upgradePrefix names the temporary pin of a map being replaced; leftovers of an agent that
// died mid-upgrade are removed at the next start.
const upgradePrefix = "upgrading_"

// mapAction is what an upgrade does with one pinned map.
type mapAction struct {
	name string
	old  *ebpf.Map // pinned map of the previous build; nil: none pinned (create)
	spec *ebpf.MapSpec
	how  string   // "replaced" or "migrated"
	copy copyFunc // nil: the replacement starts empty
	diff error    // why the pinned layout differs (wraps ebpf.ErrMapIncompatible)
}

// upgradeMaps prepares pinDir for this build's maps, the way Cilium handles map layout
// changes across upgrades (pkg/bpf/pinning.go: a pinned map whose properties differ from the
// spec is re-created and its pin replaced, the old map living on while old programs use it):
// a pinned map whose layout (type, key/value size, max entries, flags) matches is kept; one
// that differs is replaced by a new map of this build's layout, seeded by its migration
// (migrations.go) when one applies, else empty when the agent rewrites it in full at start;
// a stateful map with no applicable migration is refused, naming the map and both layouts,
// before anything changes. Maps not pinned yet are left for LoadAndAssign to create.
//
// The old map is only unpinned (atomic rename of the new pin over it): programs of the
// previous build keep using it until BPF_LINK_UPDATE swaps in this build's programs, which
// reference the new map. Entries the old programs write meanwhile (counters) are lost.
func upgradeMaps(spec *ebpf.CollectionSpec, pinDir string, log *slog.Logger) error {
	if err := removeLeftovers(pinDir); err != nil {
		return err
	}
	actions, created, err := planUpgrade(spec, pinDir)
	defer func() {
		for _, a := range actions {
			a.old.Close()
		}
	}()
	if err != nil {
		return err
	}
	for _, a := range actions {
		if err := a.apply(pinDir); err != nil {
			return fmt.Errorf("upgrade map %s in %s: %w", a.name, pinDir, err)
		}
		log.Info("pinned map of an older layout "+a.how, "map", a.name, "diff", a.diff.Error(),
			"entriesCarried", a.copy != nil)
	}
	if len(created) < len(spec.Maps) { // an existing pin dir: maps new in this build
		for _, name := range created {
			log.Info("map new in this build created", "map", name)
		}
	}
	return nil
}

// planUpgrade lists the pinned maps that need replacing and the maps not pinned yet, or
// refuses the first stateful map whose layout differs without a migration. The caller closes
// the returned actions' maps.
func planUpgrade(spec *ebpf.CollectionSpec, pinDir string) (actions []*mapAction, created []string, err error) {
	for name, ms := range spec.Maps {
		if ms.Pinning != ebpf.PinByName {
			continue
		}
		old, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, name), nil)
		if errors.Is(err, os.ErrNotExist) {
			created = append(created, name) // LoadAndAssign creates and pins it
			continue
		}
		if err != nil {
			return actions, nil, fmt.Errorf("open pinned map %s: %w", name, err)
		}
		diff := ms.Compatible(old)
		if diff == nil {
			old.Close()
			continue
		}
		a := &mapAction{name: name, old: old, spec: ms, diff: diff}
		actions = append(actions, a)
		r := upgradeRules[name]
		a.copy = r.migration(old, ms)
		if r.rewritten {
			a.how = "replaced"
			continue
		}
		if a.copy != nil {
			a.how = "migrated"
			continue
		}
		return actions, nil, fmt.Errorf("maps pinned in %s come from an incompatible ebpfnet build: map %s is %s, this build needs %s, "+
			"and it holds state no migration is defined for (remove the pin dir to start over, losing every flow): %w",
			pinDir, name, layoutOf(old), layoutOfSpec(ms), diff)
	}
	return actions, created, nil
}

// apply creates the new map, copies entries into it and pins it over the old one in one
// rename, so the pin path never dangles.
func (a *mapAction) apply(pinDir string) error {
	ms := a.spec.Copy()
	ms.Pinning = ebpf.PinNone
	m, err := ebpf.NewMap(ms)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer m.Close()
	if a.copy != nil {
		if err := a.copy(a.old, m); err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		}
	}
	tmp := filepath.Join(pinDir, upgradePrefix+a.name)
	if err := m.Pin(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(pinDir, a.name)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace pin: %w", err)
	}
	return nil
}

// removeLeftovers unpins temporary maps of an upgrade that did not finish.
func removeLeftovers(pinDir string) error {
	entries, err := os.ReadDir(pinDir)
	if err != nil {
		return fmt.Errorf("read pin dir: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), upgradePrefix) {
			if err := os.Remove(filepath.Join(pinDir, e.Name())); err != nil {
				return fmt.Errorf("remove leftover pin: %w", err)
			}
		}
	}
	return nil
}

// layoutOf describes a pinned map's layout for error messages.
func layoutOf(m *ebpf.Map) string {
	return layout(m.Type(), m.KeySize(), m.ValueSize(), m.MaxEntries())
}

func layoutOfSpec(ms *ebpf.MapSpec) string {
	return layout(ms.Type, ms.KeySize, ms.ValueSize, ms.MaxEntries)
}

func layout(t ebpf.MapType, key, value, entries uint32) string {
	return fmt.Sprintf("%s key %d B value %d B %d entries", t, key, value, entries)
}
