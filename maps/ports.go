package maps

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/bpf"
)

// be16 returns the uint16 whose in-memory bytes are v in network order (a C __be16).
func be16(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// fromBE16 is the inverse of be16.
func fromBE16(v uint16) uint16 {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	return binary.BigEndian.Uint16(b[:])
}

// PortMapping is one entry of the "published" map (bpf/lib/ports.h): hostIP:hostPort/proto
// forwarded to a container's IP:port. A range of N ports is N entries.
type PortMapping struct {
	HostIP   netip.Addr // a host address, or the zero Addr for "every host address"
	HostPort uint16
	Proto    uint8 // policy.ProtoTCP or policy.ProtoUDP
	IP       netip.Addr
	Port     uint16
}

// Published is the typed view of the pinned "published" hash map (65,536 entries).
type Published struct{ m *ebpf.Map }

// NewPublished wraps the published map.
func NewPublished(m *ebpf.Map) *Published { return &Published{m: m} }

// MaxEntries is the map's capacity.
func (p *Published) MaxEntries() int { return int(p.m.MaxEntries()) }

func portKey(hostIP netip.Addr, port uint16, proto uint8) bpf.DatapathPortKey {
	k := bpf.DatapathPortKey{Port: be16(port), Proto: proto}
	if hostIP.IsValid() {
		k.HostIp = be32(hostIP)
	}
	return k
}

// Put inserts or replaces mappings in one batch call (BPF_MAP_UPDATE_BATCH). Errors: non-IPv4
// addresses, ErrFull.
func (p *Published) Put(ms ...PortMapping) error {
	keys := make([]bpf.DatapathPortKey, len(ms))
	vals := make([]bpf.DatapathPortTarget, len(ms))
	for i, m := range ms {
		if m.HostIP.IsValid() && !m.HostIP.Is4() {
			return fmt.Errorf("host IP %s is not IPv4", m.HostIP)
		}
		if err := requireIPv4("target IP", m.IP); err != nil {
			return err
		}
		keys[i] = portKey(m.HostIP, m.HostPort, m.Proto)
		vals[i] = bpf.DatapathPortTarget{Ip: be32(m.IP), Port: be16(m.Port)}
	}
	if len(ms) == 0 {
		return nil
	}
	_, err := p.m.BatchUpdate(keys, vals, nil)
	return mapErr(p.m, "put", err)
}

// Delete removes the mapping of hostIP:hostPort/proto; ErrNotFound (wrapped) if absent.
func (p *Published) Delete(hostIP netip.Addr, hostPort uint16, proto uint8) error {
	return mapErr(p.m, fmt.Sprintf("delete %d/%s", hostPort, api.ProtoName(proto)), p.m.Delete(portKey(hostIP, hostPort, proto)))
}

// All returns every mapping, in map order.
func (p *Published) All() ([]PortMapping, error) {
	var (
		k   bpf.DatapathPortKey
		v   bpf.DatapathPortTarget
		out []PortMapping
	)
	it := p.m.Iterate()
	for it.Next(&k, &v) {
		m := PortMapping{HostPort: fromBE16(k.Port), Proto: k.Proto, IP: addrFromBE32(v.Ip), Port: fromBE16(v.Port)}
		if k.HostIp != 0 {
			m.HostIP = addrFromBE32(k.HostIp)
		}
		out = append(out, m)
	}
	return out, mapErr(p.m, "iterate", it.Err())
}
