package maps

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Endpoint is one entry of the endpoints map (bpf/lib/maps.h struct endpoint_info): a container
// attached to this host, keyed by its IPv4 address.
type Endpoint struct {
	IP       netip.Addr       // container IPv4 (the key)
	IfIndex  int              // ifindex of the host-side veth in the host netns
	MAC      net.HardwareAddr // 6-byte MAC of the container's eth0
	Identity uint32           // security identity of the endpoint's label set
	HostNAT  bool             // masquerade its traffic leaving the cluster (ENDPOINT_F_HOST_NAT)
	// Published: some hostPort maps to it, so its replies get reverse DNAT (ENDPOINT_F_PUBLISHED).
	Published bool
}

// Endpoints is the typed view of the pinned "endpoints" hash map (65,536 entries).
type Endpoints struct{ m *ebpf.Map }

// NewEndpoints wraps the endpoints map.
func NewEndpoints(m *ebpf.Map) *Endpoints { return &Endpoints{m: m} }

// Put inserts or replaces ep. Errors: non-IPv4 IP, MAC not 6 bytes, ifindex <= 0, ErrFull.
func (e *Endpoints) Put(ep Endpoint) error {
	if err := requireIPv4("endpoint IP", ep.IP); err != nil {
		return err
	}
	if len(ep.MAC) != 6 {
		return fmt.Errorf("endpoint %s: MAC %q is not 6 bytes", ep.IP, ep.MAC)
	}
	if ep.IfIndex <= 0 {
		return fmt.Errorf("endpoint %s: invalid ifindex %d", ep.IP, ep.IfIndex)
	}
	v := bpf.DatapathEndpointInfo{Ifindex: uint32(ep.IfIndex), Identity: ep.Identity, Flags: bpf.DatapathEndpointFlagENDPOINT_F_VALID}
	if ep.HostNAT {
		v.Flags |= bpf.DatapathEndpointFlagENDPOINT_F_HOST_NAT
	}
	if ep.Published {
		v.Flags |= bpf.DatapathEndpointFlagENDPOINT_F_PUBLISHED
	}
	copy(v.Mac[:], ep.MAC)
	return mapErr(e.m, "put "+ep.IP.String(), e.m.Put(bpf.DatapathEndpointKey{Ip: be32(ep.IP)}, v))
}

// Delete removes the endpoint with IP ip; ErrNotFound (wrapped) if absent.
func (e *Endpoints) Delete(ip netip.Addr) error {
	if err := requireIPv4("endpoint IP", ip); err != nil {
		return err
	}
	return mapErr(e.m, "delete "+ip.String(), e.m.Delete(bpf.DatapathEndpointKey{Ip: be32(ip)}))
}

// Lookup returns the endpoint with IP ip; ErrNotFound (wrapped) if absent.
func (e *Endpoints) Lookup(ip netip.Addr) (Endpoint, error) {
	if err := requireIPv4("endpoint IP", ip); err != nil {
		return Endpoint{}, err
	}
	var v bpf.DatapathEndpointInfo
	if err := e.m.Lookup(bpf.DatapathEndpointKey{Ip: be32(ip)}, &v); err != nil {
		return Endpoint{}, mapErr(e.m, "lookup "+ip.String(), err)
	}
	return endpointFrom(bpf.DatapathEndpointKey{Ip: be32(ip)}, v), nil
}

// All returns every entry, in map order.
func (e *Endpoints) All() ([]Endpoint, error) {
	var (
		k   bpf.DatapathEndpointKey
		v   bpf.DatapathEndpointInfo
		out []Endpoint
	)
	it := e.m.Iterate()
	for it.Next(&k, &v) {
		out = append(out, endpointFrom(k, v))
	}
	return out, mapErr(e.m, "iterate", it.Err())
}

func endpointFrom(k bpf.DatapathEndpointKey, v bpf.DatapathEndpointInfo) Endpoint {
	return Endpoint{
		IP:        addrFromBE32(k.Ip),
		IfIndex:   int(v.Ifindex),
		MAC:       net.HardwareAddr(append([]byte(nil), v.Mac[:]...)),
		Identity:  v.Identity,
		HostNAT:   v.Flags&bpf.DatapathEndpointFlagENDPOINT_F_HOST_NAT != 0,
		Published: v.Flags&bpf.DatapathEndpointFlagENDPOINT_F_PUBLISHED != 0,
	}
}
