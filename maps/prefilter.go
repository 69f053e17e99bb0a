package maps

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// PrefilterMax is the number of prefixes each prefilter trie holds (PREFILTER_MAX in
// bpf/lib/prefilter.h; TestGeneratedConstants checks it against the map).
const PrefilterMax = 262144

// Prefilter is the typed view of the XDP prefilter (bpf/lib/prefilter.h): the IPv4 source
// prefixes the underlay drops (drop_prefilter), held in two pinned LPM tries
// ("prefilter_v4_0", "prefilter_v4_1"), one in force and one spare, and the array
// "prefilter_config" naming the trie in force and whether the tc program checks it. Add and
// Delete edit the trie in force; Replace fills the spare and flips the index in one array
// write, so the datapath sees the old list or the new one, never a mix.
type Prefilter struct {
	cfg   *ebpf.Map
	tries [2]*ebpf.Map
}

// NewPrefilter wraps the prefilter maps.
func NewPrefilter(cfg, trie0, trie1 *ebpf.Map) *Prefilter {
	return &Prefilter{cfg: cfg, tries: [2]*ebpf.Map{trie0, trie1}}
}

func (p *Prefilter) state() (bpf.DatapathPrefilterState, error) {
	var st bpf.DatapathPrefilterState
	return st, mapErr(p.cfg, "get", p.cfg.Lookup(uint32(0), &st))
}

func (p *Prefilter) setState(st bpf.DatapathPrefilterState) error {
	return mapErr(p.cfg, "put", p.cfg.Put(uint32(0), st))
}

// active is the trie in force.
func (p *Prefilter) active() (*ebpf.Map, error) {
	st, err := p.state()
	return p.tries[st.Active&1], err
}

func prefilterKey(pfx netip.Prefix) bpf.DatapathPrefilterKey {
	return bpf.DatapathPrefilterKey{Prefixlen: uint32(pfx.Bits()), Ip: be32(pfx.Addr())}
}

// checkPrefixes refuses a prefix that is not a masked IPv4 prefix.
func checkPrefixes(pfxs []netip.Prefix) error {
	for _, pfx := range pfxs {
		if !pfx.Addr().Is4() || pfx != pfx.Masked() {
			return fmt.Errorf("prefilter prefix %s: want a masked IPv4 prefix", pfx)
		}
	}
	return nil
}

// List returns the prefixes in force, sorted by address then length.
func (p *Prefilter) List() ([]netip.Prefix, error) {
	m, err := p.active()
	if err != nil {
		return nil, err
	}
	return listTrie(m)
}

func listTrie(m *ebpf.Map) ([]netip.Prefix, error) {
	keys, err := trieKeys(m)
	out := make([]netip.Prefix, 0, len(keys))
	for _, k := range keys {
		out = append(out, netip.PrefixFrom(addrFromBE32(k.Ip), int(k.Prefixlen)))
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out, err
}

// trieKeys returns every key of prefilter trie m.
func trieKeys(m *ebpf.Map) ([]bpf.DatapathPrefilterKey, error) {
	var (
		k    bpf.DatapathPrefilterKey
		v    uint8
		keys []bpf.DatapathPrefilterKey
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	return keys, mapErr(m, "iterate", it.Err())
}

// Add puts pfxs (masked IPv4 prefixes) on the list in force; ones already there are kept.
// Errors: a malformed prefix (nothing written), ErrFull (the ones before it were written:
// callers check room first).
func (p *Prefilter) Add(pfxs []netip.Prefix) error {
	if err := checkPrefixes(pfxs); err != nil {
		return err
	}
	m, err := p.active()
	if err != nil {
		return err
	}
	return putAll(m, pfxs)
}

// putAll writes pfxs into trie m: one BPF_MAP_UPDATE_BATCH (the kernel's generic batch,
// about 2.5x faster than an update per prefix), else one update per prefix.
func putAll(m *ebpf.Map, pfxs []netip.Prefix) error {
	keys := make([]bpf.DatapathPrefilterKey, len(pfxs))
	for i, pfx := range pfxs {
		keys[i] = prefilterKey(pfx)
	}
	if len(keys) == 0 {
		return nil
	}
	vals := make([]uint8, len(keys))
	for i := range vals {
		vals[i] = 1
	}
	_, err := m.BatchUpdate(keys, vals, nil)
	if !errors.Is(err, ebpf.ErrNotSupported) {
		return mapErr(m, "batch put", err)
	}
	for _, pfx := range pfxs {
		if err := m.Put(prefilterKey(pfx), uint8(1)); err != nil {
			return mapErr(m, "put "+pfx.String(), err)
		}
	}
	return nil
}

// Delete removes pfxs from the list in force. Errors: a malformed prefix, or ErrNotFound
// (wrapped, naming the first prefix not on the list): then nothing is removed.
func (p *Prefilter) Delete(pfxs []netip.Prefix) error {
	if err := checkPrefixes(pfxs); err != nil {
		return err
	}
	m, err := p.active()
	if err != nil {
		return err
	}
	var v uint8
	for _, pfx := range pfxs {
		if err := m.Lookup(prefilterKey(pfx), &v); err != nil {
			return mapErr(m, "lookup "+pfx.String(), err)
		}
	}
	for _, pfx := range pfxs {
		if err := m.Delete(prefilterKey(pfx)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return mapErr(m, "delete "+pfx.String(), err)
		}
	}
	return nil
}

// Replace makes pfxs the whole list at once: the spare trie is emptied and filled, then
// prefilter_config flips to it (one array write the datapath reads per packet). The old list
// stays in the now spare trie until ClearSpare. Errors: a malformed prefix or more than
// PrefilterMax prefixes (nothing changed), a map error while filling the spare (the list in
// force is unchanged).
func (p *Prefilter) Replace(pfxs []netip.Prefix) error {
	if err := checkPrefixes(pfxs); err != nil {
		return err
	}
	if len(pfxs) > PrefilterMax {
		return fmt.Errorf("prefilter: %d prefixes, at most %d: %w", len(pfxs), PrefilterMax, ErrFull)
	}
	st, err := p.state()
	if err != nil {
		return err
	}
	spare := p.tries[(st.Active+1)&1]
	if err := clearTrie(spare); err != nil {
		return err
	}
	if err := putAll(spare, pfxs); err != nil {
		return err
	}
	st.Active = (st.Active + 1) & 1
	return p.setState(st)
}

// ClearSpare empties the trie not in force (the list a Replace left behind), so the next
// Replace starts from an empty trie.
func (p *Prefilter) ClearSpare() error {
	st, err := p.state()
	if err != nil {
		return err
	}
	return clearTrie(p.tries[(st.Active+1)&1])
}

// clearTrie removes every key of m.
func clearTrie(m *ebpf.Map) error {
	keys, err := trieKeys(m)
	if err != nil || len(keys) == 0 {
		return err
	}
	if _, err := m.BatchDelete(keys, nil); !errors.Is(err, ebpf.ErrNotSupported) {
		return mapErr(m, "batch delete", err)
	}
	for _, k := range keys {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return mapErr(m, "delete", err)
		}
	}
	return nil
}

// SetTC turns the tc program's prefilter check on (the XDP program is not attached, so
// from_overlay drops denied sources) or off (XDP drops them first).
func (p *Prefilter) SetTC(on bool) error {
	st, err := p.state()
	if err != nil {
		return err
	}
	st.Tc = 0
	if on {
		st.Tc = 1
	}
	return p.setState(st)
}

// TC reports whether the tc program checks the list.
func (p *Prefilter) TC() (bool, error) {
	st, err := p.state()
	return st.Tc != 0, err
}
