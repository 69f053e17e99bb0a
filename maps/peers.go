package maps

import (
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Peer is one entry of the "peers" hash map (bpf/lib/maps.h struct peer_info): a cluster host,
// keyed by its underlay IPv4. from_overlay decapsulates VXLAN only from these outer sources,
// and from_container drops container UDP to their VXLAN and WireGuard ports.
type Peer struct {
	IP netip.Addr // the host's underlay IPv4 (the key)
	// PlainVXLAN marks a plain kernel VXLAN host (PEER_F_PLAIN_VXLAN): it sends no Group
	// Policy ID, so a GBP from it is ignored and the sender's identity is the ipcache's.
	PlainVXLAN bool
	// Encrypt marks a host with a WireGuard key (PEER_F_ENCRYPT), set by the encryption work.
	Encrypt bool
}

// Peers is the typed view of the pinned "peers" hash map (4,096 entries).
type Peers struct{ m *ebpf.Map }

// NewPeers wraps the peers map.
func NewPeers(m *ebpf.Map) *Peers { return &Peers{m: m} }

// Put inserts or replaces p. Errors: non-IPv4 IP, ErrFull.
func (s *Peers) Put(p Peer) error {
	if err := requireIPv4("peer host IP", p.IP); err != nil {
		return err
	}
	v := bpf.DatapathPeerInfo{Flags: bpf.DatapathPeerFlagPEER_F_VALID}
	if p.PlainVXLAN {
		v.Flags |= bpf.DatapathPeerFlagPEER_F_PLAIN_VXLAN
	}
	if p.Encrypt {
		v.Flags |= bpf.DatapathPeerFlagPEER_F_ENCRYPT
	}
	return mapErr(s.m, "put "+p.IP.String(), s.m.Put(bpf.DatapathPeerKey{Ip: be32(p.IP)}, v))
}

// Delete removes the peer host ip; ErrNotFound (wrapped) if absent.
func (s *Peers) Delete(ip netip.Addr) error {
	if err := requireIPv4("peer host IP", ip); err != nil {
		return err
	}
	return mapErr(s.m, "delete "+ip.String(), s.m.Delete(bpf.DatapathPeerKey{Ip: be32(ip)}))
}

// List returns every entry, in map order.
func (s *Peers) List() ([]Peer, error) {
	var (
		k   bpf.DatapathPeerKey
		v   bpf.DatapathPeerInfo
		out []Peer
	)
	it := s.m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, Peer{IP: addrFromBE32(k.Ip), PlainVXLAN: v.Flags&bpf.DatapathPeerFlagPEER_F_PLAIN_VXLAN != 0,
			Encrypt: v.Flags&bpf.DatapathPeerFlagPEER_F_ENCRYPT != 0})
	}
	return out, mapErr(s.m, "iterate", it.Err())
}
