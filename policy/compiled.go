package policy

import "slices"

// Entry is one entry of the datapath's policy map: traffic from identity Src to
// identity Dst with IP protocol Proto (6 tcp, 17 udp) to destination port Port gets
// Verdict. Proto 0 with Port 0 is the pair's any-traffic entry; Compile never emits a
// port without a protocol or a protocol without a port. Rule is the index of the rule
// that decides the traffic this entry covers, -1 for the default action.
type Entry struct {
	Src, Dst uint32
	Proto    uint8
	Port     uint16
	Verdict  Verdict
	Rule     int
}

// Compiled is a policy compiled against the cluster's endpoints: what the agent loads
// into the BPF policy map. Entries are sorted by (Src, Dst, Proto, Port), one per key.
//
// The datapath decides a packet (src identity, dst identity, proto, dport) by looking
// up (src, dst, proto, dport), then (src, dst, 0, 0), and using Default when neither
// exists; [Compiled.Lookup] does the same in Go. That gives the verdict [Decide] gives
// for every pair of the endpoints compiled and every packet, and the same deciding rule:
// an entry is left out only when the broader lookup gives the same verdict by the same rule,
// so drop events name the rule that really decided (except between identities whose
// endpoints differ in links, see [Compile]).
type Compiled struct {
	Default Verdict
	Entries []Entry
}

// Lookup decides a packet the way the datapath does: the entry (src, dst, proto,
// port), else the entry (src, dst, 0, 0), else Default. It returns the verdict and the
// entry's Rule (-1 for Default).
func (c Compiled) Lookup(src, dst uint32, proto uint8, port uint16) (Verdict, int) {
	if e, ok := c.find(src, dst, proto, port); ok {
		return e.Verdict, e.Rule
	}
	if e, ok := c.find(src, dst, 0, 0); ok {
		return e.Verdict, e.Rule
	}
	return c.Default, -1
}

// find binary-searches the sorted entries for one key.
func (c Compiled) find(src, dst uint32, proto uint8, port uint16) (Entry, bool) {
	key := Entry{Src: src, Dst: dst, Proto: proto, Port: port}
	i, ok := slices.BinarySearchFunc(c.Entries, key, compareKeys)
	if !ok {
		return Entry{}, false
	}
	return c.Entries[i], true
}

// compareKeys orders entries by (Src, Dst, Proto, Port).
func compareKeys(a, b Entry) int {
	if c := cmpU32(a.Src, b.Src); c != 0 {
		return c
	}
	if c := cmpU32(a.Dst, b.Dst); c != 0 {
		return c
	}
	if c := cmpU32(uint32(a.Proto), uint32(b.Proto)); c != 0 {
		return c
	}
	return cmpU32(uint32(a.Port), uint32(b.Port))
}
