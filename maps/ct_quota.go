package maps

import (
	"errors"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Quota is an endpoint's conntrack quota (bpf/lib/ct_quota.h): Count entries charged to it,
// at most Limit (0 = no limit).
type Quota struct {
	Count, Limit int
}

// CTQuota is the typed view of the pinned "ct_quota" hash map, keyed by endpoint IPv4.
type CTQuota struct{ m *ebpf.Map }

// NewCTQuota wraps the ct_quota map.
func NewCTQuota(m *ebpf.Map) *CTQuota { return &CTQuota{m: m} }

// Set writes ip's quota. Errors: ip not IPv4, values over 32 bits.
func (c *CTQuota) Set(ip netip.Addr, q Quota) error {
	if err := requireIPv4("endpoint IP", ip); err != nil {
		return err
	}
	if q.Count < 0 || q.Limit < 0 || uint64(q.Count) > 1<<32-1 || uint64(q.Limit) > 1<<32-1 {
		return errors.New("conntrack quota out of range")
	}
	v := bpf.DatapathCtQuotaValue{Count: uint32(q.Count), Limit: uint32(q.Limit)}
	return mapErr(c.m, "set", c.m.Put(bpf.DatapathEndpointKey{Ip: be32(ip)}, v))
}

// Delete removes ip's quota; an absent one is not an error.
func (c *CTQuota) Delete(ip netip.Addr) error {
	err := mapErr(c.m, "delete", c.m.Delete(bpf.DatapathEndpointKey{Ip: be32(ip)}))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// All returns every endpoint's quota.
func (c *CTQuota) All() (map[netip.Addr]Quota, error) {
	var (
		k   bpf.DatapathEndpointKey
		v   bpf.DatapathCtQuotaValue
		out = map[netip.Addr]Quota{}
	)
	it := c.m.Iterate()
	for it.Next(&k, &v) {
		out[addrFromBE32(k.Ip)] = Quota{Count: int(v.Count), Limit: int(v.Limit)}
	}
	return out, mapErr(c.m, "iterate", it.Err())
}

// Owner is the endpoint a conntrack entry is charged to, as the datapath charges it: a
// policy entry's source when it is one of local (this host's endpoints), else its
// destination; a masquerade pair's container (the source before translation, or the address
// a reply goes back to); a published-port entry's container; a service entry's client; a
// mesh entry's backend. Zero when none is local.
func (e CTEntry) Owner(local map[netip.Addr]bool) netip.Addr {
	var cands []netip.Addr
	switch e.Dir {
	case CTPolicy:
		cands = []netip.Addr{e.Src, e.Dst}
	case CTSNATOut, CTDNATReply, CTService, CTMesh:
		cands = []netip.Addr{e.Src}
	case CTSNATIn:
		cands = []netip.Addr{e.Addr}
	}
	for _, a := range cands {
		if local[a] {
			return a
		}
	}
	return netip.Addr{}
}
