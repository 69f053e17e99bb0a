package agent

import (
	"errors"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/maps"
)

// domainMaps are the BPF maps the domain operations (attach, peers, publish, reconcile)
// write, as interfaces so those operations run against fakes in unit tests; the agent fills
// them from its maps.Set.
type domainMaps struct {
	endpoints endpointMap
	ipcache   ipcacheMap
	published publishedMap
	networks  networkMap
}

func newDomainMaps(s maps.Set) domainMaps {
	return domainMaps{endpoints: s.Endpoints, ipcache: s.IPCache, published: s.Published, networks: s.Networks}
}

// networkMap is the networks, network_subnets and network_vnis maps (maps.Networks).
type networkMap interface {
	Put(maps.Network) error
	Clear(id uint16) error
	DeleteSubnet(netip.Prefix) error // maps.ErrNotFound when absent
	DeleteVNI(vni uint32) error      // maps.ErrNotFound when absent
	Entries() (maps.NetworkEntries, error)
}

// endpointMap is the endpoints map keyed by endpoint IP (maps.Endpoints).
type endpointMap interface {
	Put(maps.Endpoint) error
	Delete(ip netip.Addr) error // maps.ErrNotFound when absent
	All() ([]maps.Endpoint, error)
}

// ipcacheMap is the LPM map of routes by prefix (maps.IPCache).
type ipcacheMap interface {
	Put(maps.Route) error
	Delete(netip.Prefix) error // maps.ErrNotFound when absent
	All() ([]maps.Route, error)
}

// publishedMap is the map of published host ports (maps.Published).
type publishedMap interface {
	Put(...maps.PortMapping) error
	Delete(hostIP netip.Addr, hostPort uint16, proto uint8) error // maps.ErrNotFound when absent
	All() ([]maps.PortMapping, error)
	MaxEntries() int
}

// sweep is the sweep half of mark and sweep: it deletes every entry of have that is not
// wanted with del (entries gone meanwhile, maps.ErrNotFound, are fine); the first other error
// stops it.
func sweep[E any](have []E, wanted func(E) bool, del func(E) error) error {
	for _, e := range have {
		if wanted(e) {
			continue
		}
		if err := del(e); err != nil && !errors.Is(err, maps.ErrNotFound) {
			return err
		}
	}
	return nil
}
