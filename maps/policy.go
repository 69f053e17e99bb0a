package maps

import (
	"errors"

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

// Policy is the typed view of the pinned "policy" hash map (262,144 entries).
type Policy struct{ m *ebpf.Map }

// NewPolicy wraps the policy map.
func NewPolicy(m *ebpf.Map) *Policy { return &Policy{m: m} }

func policyKey(e PolicyEntry) bpf.DatapathPolicyKey {
	return bpf.DatapathPolicyKey{SrcIdentity: e.Src, DstIdentity: e.Dst, Dport: e.Port, Proto: e.Proto}
}

// Sync makes the map hold exactly want: entries are written in place first (a flow never sees
// a missing entry that stays), then stale keys are deleted. Errors wrap ErrFull.
func (p *Policy) Sync(want []PolicyEntry) error {
	if len(want) > int(p.m.MaxEntries()) {
		return mapErr(p.m, "sync", ErrFull)
	}
	wanted := make(map[bpf.DatapathPolicyKey]bool, len(want))
	if len(want) > 0 {
		keys := make([]bpf.DatapathPolicyKey, len(want))
		vals := make([]bpf.DatapathPolicyValue, len(want))
		for i, e := range want {
			keys[i] = policyKey(e)
			vals[i] = bpf.DatapathPolicyValue{Verdict: b2u8(e.Allow), Rule: e.Rule}
			wanted[keys[i]] = true
		}
		if _, err := p.m.BatchUpdate(keys, vals, nil); err != nil {
			return mapErr(p.m, "update", err)
		}
	}
	var (
		k     bpf.DatapathPolicyKey
		v     bpf.DatapathPolicyValue
		stale []bpf.DatapathPolicyKey
	)
	it := p.m.Iterate()
	for it.Next(&k, &v) {
		if !wanted[k] {
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

// Len counts the entries.
func (p *Policy) Len() (int, error) {
	var (
		k bpf.DatapathPolicyKey
		v bpf.DatapathPolicyValue
		n int
	)
	it := p.m.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	return n, mapErr(p.m, "iterate", it.Err())
}

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
