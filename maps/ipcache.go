package maps

import (
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Route is one entry of the ipcache LPM trie (bpf/lib/maps.h struct ipcache_info): where an
// IPv4 prefix of the cluster lives.
type Route struct {
	Prefix netip.Prefix // masked IPv4 prefix, /0 to /32 (the key)
	// TunnelEndpoint is the underlay IPv4 of the peer host (VTEP) that owns Prefix. The zero
	// Addr means this host: a destination in Prefix without a local endpoint is dropped.
	TunnelEndpoint netip.Addr
	Identity       uint32 // identity of the prefix, or a reserved identity
	// PlainVXLAN marks a peer without the VXLAN Group Policy extension (a kernel VXLAN
	// device): packets to it carry no sender identity (IPCACHE_F_PLAIN_VXLAN).
	PlainVXLAN bool
}

// Reserved identities (enum identity in bpf/lib/maps.h, cf. Cilium's reserved identities).
const (
	// IdentityCluster is the identity of cluster addresses whose endpoint identity is not
	// known (a peer's pod CIDR).
	IdentityCluster = uint32(bpf.DatapathIdentityIDENTITY_CLUSTER)
	// IdentityRemoteNode is the identity of peer hosts' underlay addresses (Cilium's
	// reserved:remote-node).
	IdentityRemoteNode = uint32(bpf.DatapathIdentityIDENTITY_REMOTE_NODE)
	// FirstLabelIdentity is the first identity of a label set; lower ones are reserved.
	FirstLabelIdentity = uint32(bpf.DatapathIdentityFIRST_LABEL_IDENTITY)
)

// IPCache is the typed view of the pinned "ipcache" LPM trie (16,384 entries).
type IPCache struct{ m *ebpf.Map }

// NewIPCache wraps the ipcache map.
func NewIPCache(m *ebpf.Map) *IPCache { return &IPCache{m: m} }

func ipcacheKey(p netip.Prefix) bpf.DatapathIpcacheKey {
	p = p.Masked()
	return bpf.DatapathIpcacheKey{Prefixlen: uint32(p.Bits()), Ip: be32(p.Addr())}
}

// Put inserts or replaces r. Errors: non-IPv4 prefix or tunnel endpoint, ErrFull.
func (c *IPCache) Put(r Route) error {
	if err := requireIPv4("ipcache prefix", r.Prefix.Addr()); err != nil {
		return err
	}
	var tep uint32
	if r.TunnelEndpoint.IsValid() {
		if err := requireIPv4("tunnel endpoint", r.TunnelEndpoint); err != nil {
			return err
		}
		tep = be32(r.TunnelEndpoint)
	}
	v := bpf.DatapathIpcacheInfo{TunnelEndpoint: tep, Identity: r.Identity}
	if r.PlainVXLAN {
		v.Flags |= bpf.DatapathIpcacheFlagIPCACHE_F_PLAIN_VXLAN
	}
	return mapErr(c.m, "put "+r.Prefix.String(), c.m.Put(ipcacheKey(r.Prefix), v))
}

// Delete removes the exact prefix p; ErrNotFound (wrapped) if absent.
func (c *IPCache) Delete(p netip.Prefix) error {
	if err := requireIPv4("ipcache prefix", p.Addr()); err != nil {
		return err
	}
	return mapErr(c.m, "delete "+p.String(), c.m.Delete(ipcacheKey(p)))
}

// All returns every entry, in map order.
func (c *IPCache) All() ([]Route, error) {
	var (
		k   bpf.DatapathIpcacheKey
		v   bpf.DatapathIpcacheInfo
		out []Route
	)
	it := c.m.Iterate()
	for it.Next(&k, &v) {
		r := Route{Prefix: netip.PrefixFrom(addrFromBE32(k.Ip), int(k.Prefixlen)), Identity: v.Identity,
			PlainVXLAN: v.Flags&bpf.DatapathIpcacheFlagIPCACHE_F_PLAIN_VXLAN != 0}
		if v.TunnelEndpoint != 0 {
			r.TunnelEndpoint = addrFromBE32(v.TunnelEndpoint)
		}
		out = append(out, r)
	}
	return out, mapErr(c.m, "iterate", it.Err())
}
