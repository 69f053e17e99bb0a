package maps

import (
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// Network is one network as the datapath sees it (bpf/lib/network_maps.h): its entry of the
// "networks" array at ID, and for ID != 0 its subnet in "network_subnets" (LPM trie) and its
// VNI in "network_vnis". The default network (ID 0) is node_config's cluster CIDR and VNI:
// only its networks entry is written.
type Network struct {
	ID        uint16       // datapath id, 0..MaxNetworks-1 (the networks key)
	Subnet    netip.Prefix // masked IPv4 subnet
	VNI       uint32       // 24-bit VXLAN network identifier
	Internal  bool         // NETWORK_F_INTERNAL: nothing outside the network
	HostNAT   bool         // NETWORK_F_HOST_NAT
	HostPorts bool         // NETWORK_F_HOST_PORTS
	Native    bool         // NETWORK_F_NATIVE
}

// MaxNetworks is the capacity of the networks maps (MAX_NETWORKS).
const MaxNetworks = 1024

// Networks is the typed view of the pinned "networks", "network_subnets" and "network_vnis"
// maps (1,024 entries each).
type Networks struct{ info, subnets, vnis *ebpf.Map }

// NewNetworks wraps the three network maps.
func NewNetworks(info, subnets, vnis *ebpf.Map) *Networks {
	return &Networks{info: info, subnets: subnets, vnis: vnis}
}

func subnetKey(p netip.Prefix) bpf.DatapathNetworkSubnetKey {
	p = p.Masked()
	return bpf.DatapathNetworkSubnetKey{Prefixlen: uint32(p.Bits()), Ip: be32(p.Addr())}
}

// Put writes n: its subnet and VNI entries first (ID != 0), then its networks entry.
// Errors: an ID past MaxNetworks, a non-IPv4 subnet, ErrFull.
func (s *Networks) Put(n Network) error {
	if n.ID >= MaxNetworks {
		return fmt.Errorf("network id %d: want 0..%d", n.ID, MaxNetworks-1)
	}
	ref := bpf.DatapathNetworkRef{Id: uint32(n.ID)}
	if n.ID != 0 {
		if err := requireIPv4("network subnet", n.Subnet.Addr()); err != nil {
			return err
		}
		if err := s.subnets.Put(subnetKey(n.Subnet), ref); err != nil {
			return mapErr(s.subnets, "put "+n.Subnet.String(), err)
		}
		if err := s.vnis.Put(bpf.DatapathNetworkVniKey{Vni: n.VNI}, ref); err != nil {
			return mapErr(s.vnis, fmt.Sprint("put VNI ", n.VNI), err)
		}
	}
	v := bpf.DatapathNetworkInfo{Vni: n.VNI, Flags: bpf.DatapathNetworkFlagNETWORK_F_VALID}
	for _, f := range []struct {
		on   bool
		flag bpf.DatapathNetworkFlag
	}{
		{n.Internal, bpf.DatapathNetworkFlagNETWORK_F_INTERNAL},
		{n.HostNAT, bpf.DatapathNetworkFlagNETWORK_F_HOST_NAT},
		{n.HostPorts, bpf.DatapathNetworkFlagNETWORK_F_HOST_PORTS},
		{n.Native, bpf.DatapathNetworkFlagNETWORK_F_NATIVE},
	} {
		if f.on {
			v.Flags |= f.flag
		}
	}
	return mapErr(s.info, fmt.Sprint("put network ", n.ID), s.info.Put(uint32(n.ID), v))
}

// Clear zeroes the networks entry of id (its endpoints' packets stop being forwarded).
func (s *Networks) Clear(id uint16) error {
	return mapErr(s.info, fmt.Sprint("clear network ", id), s.info.Put(uint32(id), bpf.DatapathNetworkInfo{}))
}

// DeleteSubnet removes the network_subnets entry of p; ErrNotFound (wrapped) if absent.
func (s *Networks) DeleteSubnet(p netip.Prefix) error {
	return mapErr(s.subnets, "delete "+p.String(), s.subnets.Delete(subnetKey(p)))
}

// DeleteVNI removes the network_vnis entry of vni; ErrNotFound (wrapped) if absent.
func (s *Networks) DeleteVNI(vni uint32) error {
	return mapErr(s.vnis, fmt.Sprint("delete VNI ", vni), s.vnis.Delete(bpf.DatapathNetworkVniKey{Vni: vni}))
}

// NetworkEntries is what the three network maps hold, for a sweep: the ids with a valid
// networks entry, and the subnet and VNI entries by the id they name.
type NetworkEntries struct {
	IDs     []uint16
	Subnets map[netip.Prefix]uint16
	VNIs    map[uint32]uint16
}

// Entries lists the three maps.
func (s *Networks) Entries() (NetworkEntries, error) {
	out := NetworkEntries{Subnets: map[netip.Prefix]uint16{}, VNIs: map[uint32]uint16{}}
	var (
		id   uint32
		info bpf.DatapathNetworkInfo
	)
	it := s.info.Iterate()
	for it.Next(&id, &info) {
		if info.Flags&bpf.DatapathNetworkFlagNETWORK_F_VALID != 0 {
			out.IDs = append(out.IDs, uint16(id))
		}
	}
	if err := mapErr(s.info, "iterate", it.Err()); err != nil {
		return out, err
	}
	var (
		sk  bpf.DatapathNetworkSubnetKey
		ref bpf.DatapathNetworkRef
	)
	it = s.subnets.Iterate()
	for it.Next(&sk, &ref) {
		out.Subnets[netip.PrefixFrom(addrFromBE32(sk.Ip), int(sk.Prefixlen))] = uint16(ref.Id)
	}
	if err := mapErr(s.subnets, "iterate", it.Err()); err != nil {
		return out, err
	}
	var vk bpf.DatapathNetworkVniKey
	it = s.vnis.Iterate()
	for it.Next(&vk, &ref) {
		out.VNIs[vk.Vni] = uint16(ref.Id)
	}
	return out, mapErr(s.vnis, "iterate", it.Err())
}
