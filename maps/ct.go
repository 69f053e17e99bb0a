package maps

import (
	"errors"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// CTDir is the kind of a conntrack/NAT entry (enum ct_dir in bpf/lib/ct.h).
type CTDir uint8

// Conntrack entry kinds, the generated values of enum ct_dir.
const (
	CTSNATOut   = CTDir(bpf.DatapathCtDirCT_SNAT_OUT)   // container -> outside: Addr:Port is the masquerade source
	CTSNATIn    = CTDir(bpf.DatapathCtDirCT_SNAT_IN)    // outside -> host, masquerade reply: Addr:Port is the container
	CTDNATReply = CTDir(bpf.DatapathCtDirCT_DNAT_REPLY) // published container -> client: Addr:Port is the hostIP:hostPort
	CTPolicy    = CTDir(bpf.DatapathCtDirCT_POLICY)     // a flow network policy allowed: no translation
	CTService   = CTDir(bpf.DatapathCtDirCT_SERVICE)    // client -> service VIP:port: Addr:Port is its backend
	CTMesh      = CTDir(bpf.DatapathCtDirCT_MESH)       // mesh backend -> outside client: Addr is the entry host
)

func (d CTDir) String() string {
	switch d {
	case CTSNATOut:
		return "snat-out"
	case CTSNATIn:
		return "snat-in"
	case CTDNATReply:
		return "dnat-reply"
	case CTPolicy:
		return "policy"
	case CTService:
		return "service"
	case CTMesh:
		return "mesh"
	}
	return "unknown"
}

// CTEntry is one entry of the "ct" map: a flow direction's tuple and its translation.
type CTEntry struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ports, or the ICMP echo id in both
	Proto            uint8
	Dir              CTDir
	Addr             netip.Addr    // translated address
	Port             uint16        // translated port / echo id
	Hairpin          bool          // self-hairpin: replies go back to OrigAddr
	OrigAddr         netip.Addr    // valid when Hairpin
	LastSeen         time.Duration // bpf_ktime_get_ns() of the last packet (time since boot)

	key bpf.DatapathCtKey
}

// CT is the typed view of the pinned "ct" hash map.
type CT struct{ m *ebpf.Map }

// NewCT wraps the ct map.
func NewCT(m *ebpf.Map) *CT { return &CT{m: m} }

// MaxEntries is the map's capacity.
func (c *CT) MaxEntries() int { return int(c.m.MaxEntries()) }

// All returns every entry, in map order.
func (c *CT) All() ([]CTEntry, error) {
	var (
		k   bpf.DatapathCtKey
		v   bpf.DatapathCtEntry
		out []CTEntry
	)
	it := c.m.Iterate()
	for it.Next(&k, &v) {
		e := CTEntry{
			Src: addrFromBE32(k.Saddr), Dst: addrFromBE32(k.Daddr),
			SrcPort: fromBE16(k.Sport), DstPort: fromBE16(k.Dport), Proto: k.Proto, Dir: CTDir(k.Dir),
			Addr: addrFromBE32(v.Addr), Port: fromBE16(v.Port), Hairpin: v.Flags&bpf.DatapathCtFlagCT_F_HAIRPIN != 0,
			LastSeen: time.Duration(v.LastSeen), key: k,
		}
		if e.Hairpin {
			e.OrigAddr = addrFromBE32(v.OrigAddr)
		}
		out = append(out, e)
	}
	return out, mapErr(c.m, "iterate", it.Err())
}

// Delete removes entry e (as returned by All); a vanished entry is not an error.
func (c *CT) Delete(e CTEntry) error {
	err := mapErr(c.m, "delete", c.m.Delete(e.key))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// CTSummary counts the "ct" map's entries by kind and the masquerade ports in use.
type CTSummary struct {
	Entries int // all entries
	ByKind  map[CTDir]int
	// NATPorts is the number of distinct masquerade source ports (ICMP: echo ids) in use per
	// IP protocol: the translated ports of snat-out entries.
	NATPorts map[uint8]int
}

// Summary walks the map once with BPF_MAP_LOOKUP_BATCH (4,096 entries per syscall; a full
// 262,144-entry map is 64 calls, 65-165 ms on a loaded 2-core machine) and counts its entries. A snapshot: the datapath keeps writing.
func (c *CT) Summary() (CTSummary, error) {
	s := CTSummary{ByKind: map[CTDir]int{}, NATPorts: map[uint8]int{}}
	seen := map[uint8][]bool{} // per protocol, indexed by NAT port
	keys := make([]bpf.DatapathCtKey, fillBatch)
	vals := make([]bpf.DatapathCtEntry, fillBatch)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := c.m.BatchLookup(&cursor, keys, vals, nil)
		for i := range n {
			s.Entries++
			s.ByKind[CTDir(keys[i].Dir)]++
			if CTDir(keys[i].Dir) != CTSNATOut {
				continue
			}
			ports := seen[keys[i].Proto]
			if ports == nil {
				ports = make([]bool, 1<<16)
				seen[keys[i].Proto] = ports
			}
			if port := vals[i].Port; !ports[port] {
				ports[port] = true
				s.NATPorts[keys[i].Proto]++
			}
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		}
		if err != nil {
			return CTSummary{}, mapErr(c.m, "batch lookup", err)
		}
	}
	return s, nil
}
