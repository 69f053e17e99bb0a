package maps

import (
	"errors"
	"reflect"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// PolicyEntry is one entry of the "policy" map (bpf/lib/policy.h): the verdict for traffic
// from identity Src to identity Dst on Proto/Port.
type PolicyEntry struct {
	Src, Dst uint32
	Proto    uint8  // IP protocol; 0 = any
	Port     uint16 // destination port (host byte order in the map); 0 = any
	Allow    bool
	Rule     uint16 // index of the deciding rule
}

// Policy is the typed view of the pinned "policy" hash map (262,144 entries). Entries carry a
// generation bit; the datapath reads only the generation node_config names, so a policy is
// replaced by [SwapPolicy], never edited in place.
type Policy struct{ m *ebpf.Map }

// NewPolicy wraps the policy map.
func NewPolicy(m *ebpf.Map) *Policy { return &Policy{m: m} }

func policyKey(e PolicyEntry, gen uint8) bpf.DatapathPolicyKey {
	return bpf.DatapathPolicyKey{SrcIdentity: e.Src, DstIdentity: e.Dst, Dport: e.Port, Proto: e.Proto, Gen: gen}
}

// Capacity is the map's size in entries.
func (p *Policy) Capacity() int { return int(p.m.MaxEntries()) }

// Counts returns the number of entries of generation 0 and of generation 1 (the key's gen,
// node_params.policy_rev & 1 in bpf/lib/policy.h).
func (p *Policy) Counts() ([2]int, error) {
	var (
		k bpf.DatapathPolicyKey
		v bpf.DatapathPolicyValue
		n [2]int
	)
	it := p.m.Iterate()
	for it.Next(&k, &v) {
		n[k.Gen&1]++
	}
	return n, mapErr(p.m, "iterate", it.Err())
}

// stage writes want as generation gen (one batch update). Errors wrap ErrFull.
func (p *Policy) stage(gen uint8, want []PolicyEntry) error {
	if len(want) == 0 {
		return nil
	}
	keys := make([]bpf.DatapathPolicyKey, len(want))
	vals := make([]bpf.DatapathPolicyValue, len(want))
	for i, e := range want {
		keys[i] = policyKey(e, gen)
		vals[i] = bpf.DatapathPolicyValue{Verdict: verdictOf(e.Allow), Rule: e.Rule}
	}
	_, err := p.m.BatchUpdate(keys, vals, nil)
	return mapErr(p.m, "update", err)
}

// sweep deletes every entry of generation gen.
func (p *Policy) sweep(gen uint8) error {
	var (
		k     bpf.DatapathPolicyKey
		v     bpf.DatapathPolicyValue
		stale []bpf.DatapathPolicyKey
	)
	it := p.m.Iterate()
	for it.Next(&k, &v) {
		if k.Gen&1 == gen {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return mapErr(p.m, "iterate", err)
	}
	for _, k := range stale {
		if err := p.m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return mapErr(p.m, "delete", err)
		}
	}
	return nil
}

// inForce reports whether the policy in force under node parameters n is exactly want, as
// entries of its generation (n.PolicyRev & 1) with nothing left in the other one, and edit
// leaves n as it is.
func (p *Policy) inForce(n Node, want []PolicyEntry, edit func(*Node)) (bool, error) {
	edited := n
	if edit != nil {
		edit(&edited)
	}
	if !reflect.DeepEqual(edited, n) {
		return false, nil
	}
	gen := uint8(n.PolicyRev & 1)
	wanted := make(map[bpf.DatapathPolicyKey]bpf.DatapathPolicyValue, len(want))
	for _, e := range want {
		wanted[policyKey(e, gen)] = bpf.DatapathPolicyValue{Verdict: verdictOf(e.Allow), Rule: e.Rule}
	}
	var (
		k    bpf.DatapathPolicyKey
		v    bpf.DatapathPolicyValue
		seen int
		same = true
	)
	it := p.m.Iterate()
	for same && it.Next(&k, &v) {
		w, ok := wanted[k]
		same = ok && w == v
		seen++
	}
	if err := it.Err(); err != nil {
		return false, mapErr(p.m, "iterate", err)
	}
	return same && seen == len(wanted), nil
}

// Len counts the entries of both generations.
func (p *Policy) Len() (int, error) {
	n, err := p.Counts()
	return n[0] + n[1], err
}

// PolicyRulesMax is the number of slots of the "policy_drops" map (POLICY_RULES_MAX in
// bpf/lib/policy.h, a map size and so no enum: TestGeneratedConstants checks the two agree):
// one per policy rule, the last for drops by the default action.
const PolicyRulesMax = 1024

// PolicyDrops is the typed view of the per-CPU "policy_drops" array: drops per deciding rule.
type PolicyDrops struct{ m *ebpf.Map }

// NewPolicyDrops wraps the policy_drops map.
func NewPolicyDrops(m *ebpf.Map) *PolicyDrops { return &PolicyDrops{m: m} }

// DefaultRuleSlot is the slot counting drops by the default action.
func (p *PolicyDrops) DefaultRuleSlot() int { return int(p.m.MaxEntries()) - 1 }

// Read returns the summed counter of slot (a rule index, or DefaultRuleSlot).
func (p *PolicyDrops) Read(slot int) (Counter, error) {
	var perCPU []bpf.DatapathMetricValue
	if err := p.m.Lookup(uint32(slot), &perCPU); err != nil {
		return Counter{}, mapErr(p.m, "read", err)
	}
	var c Counter
	for _, v := range perCPU {
		c.Packets += v.Packets
		c.Bytes += v.Bytes
	}
	return c, nil
}

// Reset zeroes the counter of slot on every CPU.
func (p *PolicyDrops) Reset(slot int) error {
	zero := make([]bpf.DatapathMetricValue, ebpf.MustPossibleCPU())
	return mapErr(p.m, "reset", p.m.Put(uint32(slot), zero))
}
