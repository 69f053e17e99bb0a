package maps

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/ebpfnet/ebpfnet/bpf"
	"github.com/ebpfnet/ebpfnet/lb"
)

// Service flags (enum lb_flag in bpf/lib/lb.h).
const (
	ServiceAffinityClient = uint16(bpf.DatapathLbFlagLB_F_AFFINITY_CLIENT) // slot from the client address alone
	ServiceRandom         = uint16(bpf.DatapathLbFlagLB_F_RANDOM)          // random slot per new connection
)

// Service is one entry of the "lb_services" map (bpf/lib/lb.h): VIP:Port/Proto -> the
// service's table ID, backend count and flags.
type Service struct {
	VIP      netip.Addr
	Port     uint16
	Proto    uint8 // policy.ProtoTCP or policy.ProtoUDP
	ID       uint32
	Backends uint16 // 0: the datapath answers ICMP port unreachable
	Flags    uint16 // Service* bits
	// Mesh is the routing-mesh port (`--publish`), an entry of VIP 0 with the same value:
	// every local address answers on it; 0 = none.
	Mesh uint16
}

// Backend is a service backend: endpoint IPv4 and port.
type Backend struct {
	IP   netip.Addr
	Port uint16
}

// Services is the typed view of the service maps: "lb_services" (hash), "lb_backends" (the
// backends of each service, hash) and "lb_maglev" (array of maps: service ID -> its Maglev
// table, slot -> backend).
type Services struct{ svc, backends, maglev *ebpf.Map }

// NewServices wraps the three service maps.
func NewServices(svc, backends, maglev *ebpf.Map) *Services {
	return &Services{svc: svc, backends: backends, maglev: maglev}
}

// MaxServices is the number of services the maps hold (IDs 1 to MaxServices-1).
func (s *Services) MaxServices() int { return int(s.maglev.MaxEntries()) }

// TableSize is the size of each Maglev table: bpf/lib/lb.h LB_MAGLEV_SIZE, which is
// lb.DefaultTableSize (checked by TestServiceMapShapes).
func (s *Services) TableSize() int { return lb.DefaultTableSize }

func serviceKey(vip netip.Addr, port uint16, proto uint8) bpf.DatapathLbServiceKey {
	return bpf.DatapathLbServiceKey{Vip: be32(vip), Port: be16(port), Proto: proto}
}

// Put writes svc's Maglev table (table[i] = backends slot i maps to; len(table) must be
// TableSize, or 0 with no backend), its backends, then its service entry: a new table is
// filled aside and swapped in by one update of lb_maglev, so connections never see a partial
// table. Backends of svc.ID no longer in backends are deleted. Errors: non-IPv4 addresses, an
// ID out of range, a table of the wrong size, ErrFull.
func (s *Services) Put(svc Service, backends []Backend, table []Backend) error {
	if err := requireIPv4("service IP", svc.VIP); err != nil {
		return err
	}
	if svc.ID == 0 || int(svc.ID) >= s.MaxServices() {
		return fmt.Errorf("service id %d out of range 1..%d", svc.ID, s.MaxServices()-1)
	}
	if len(table) != 0 && len(table) != s.TableSize() {
		return fmt.Errorf("maglev table of %d slots, want %d", len(table), s.TableSize())
	}
	if err := s.putTable(svc.ID, table); err != nil {
		return err
	}
	if err := s.syncBackends(svc.ID, backends); err != nil {
		return err
	}
	v := bpf.DatapathLbService{Id: svc.ID, Count: svc.Backends, Flags: bpf.DatapathLbFlag(svc.Flags)}
	if err := mapErr(s.svc, "put", s.svc.Put(serviceKey(svc.VIP, svc.Port, svc.Proto), v)); err != nil {
		return err
	}
	if svc.Mesh == 0 {
		return nil
	}
	return mapErr(s.svc, "put", s.svc.Put(meshKey(svc.Mesh, svc.Proto), v))
}

// meshKey is the lb_services key of a routing-mesh port: VIP 0.
func meshKey(port uint16, proto uint8) bpf.DatapathLbServiceKey {
	return bpf.DatapathLbServiceKey{Port: be16(port), Proto: proto}
}

// SetMeshBackends makes the local backends of routing-mesh services (lb_backends entries of
// service 0, which a peer's tunnelled mesh traffic may reach) exactly backends.
func (s *Services) SetMeshBackends(backends []Backend) error {
	return s.syncBackends(0, backends)
}

// putTable fills a new inner array with table and stores it at id.
func (s *Services) putTable(id uint32, table []Backend) error {
	inner, err := ebpf.NewMap(&ebpf.MapSpec{
		Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: uint32(s.TableSize()),
	})
	if err != nil {
		return fmt.Errorf("create maglev table: %w", err)
	}
	defer inner.Close()
	if len(table) > 0 {
		keys := make([]uint32, len(table))
		vals := make([]bpf.DatapathPortTarget, len(table))
		for i, b := range table {
			if err := requireIPv4("backend IP", b.IP); err != nil {
				return err
			}
			keys[i] = uint32(i)
			vals[i] = bpf.DatapathPortTarget{Ip: be32(b.IP), Port: be16(b.Port)}
		}
		if _, err := inner.BatchUpdate(keys, vals, nil); err != nil {
			return fmt.Errorf("fill maglev table: %w", err)
		}
	}
	return mapErr(s.maglev, "put", s.maglev.Put(id, inner))
}

// syncBackends makes id's entries of lb_backends exactly backends (mark and sweep).
func (s *Services) syncBackends(id uint32, backends []Backend) error {
	want := map[bpf.DatapathLbBackendKey]bool{}
	for _, b := range backends {
		if err := requireIPv4("backend IP", b.IP); err != nil {
			return err
		}
		k := bpf.DatapathLbBackendKey{ServiceId: id, Ip: be32(b.IP), Port: be16(b.Port)}
		want[k] = true
		if err := s.backends.Put(k, bpf.DatapathLbBackend{}); err != nil {
			return mapErr(s.backends, "put", err)
		}
	}
	return s.sweepBackends(func(k bpf.DatapathLbBackendKey) bool { return k.ServiceId != id || want[k] })
}

// sweepBackends deletes the lb_backends entries keep refuses.
func (s *Services) sweepBackends(keep func(bpf.DatapathLbBackendKey) bool) error {
	var (
		k    bpf.DatapathLbBackendKey
		v    bpf.DatapathLbBackend
		gone []bpf.DatapathLbBackendKey
	)
	it := s.backends.Iterate()
	for it.Next(&k, &v) {
		if !keep(k) {
			gone = append(gone, k)
		}
	}
	if err := it.Err(); err != nil {
		return mapErr(s.backends, "iterate", err)
	}
	for _, k := range gone {
		if err := s.backends.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return mapErr(s.backends, "delete", err)
		}
	}
	return nil
}

// Delete removes svc's entries (first, so no new connection uses it: the VIP's, unless svc's
// VIP is invalid, and the mesh port's), its table and its backends. ErrNotFound (wrapped) when
// the VIP entry is absent.
func (s *Services) Delete(svc Service) error {
	if svc.VIP.IsValid() {
		if err := mapErr(s.svc, "delete", s.svc.Delete(serviceKey(svc.VIP, svc.Port, svc.Proto))); err != nil {
			return err
		}
	}
	if svc.Mesh != 0 {
		if err := s.svc.Delete(meshKey(svc.Mesh, svc.Proto)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return mapErr(s.svc, "delete", err)
		}
	}
	if err := s.maglev.Delete(svc.ID); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return mapErr(s.maglev, "delete", err)
	}
	return s.sweepBackends(func(k bpf.DatapathLbBackendKey) bool { return k.ServiceId != svc.ID })
}

// All returns every service, in map order, its mesh port (the VIP-0 entry of the same ID)
// in Mesh. A mesh entry whose VIP entry is gone comes as a Service of invalid VIP.
func (s *Services) All() ([]Service, error) {
	var (
		k    bpf.DatapathLbServiceKey
		v    bpf.DatapathLbService
		out  []Service
		mesh = map[uint32]bpf.DatapathLbServiceKey{}
	)
	it := s.svc.Iterate()
	for it.Next(&k, &v) {
		if k.Vip == 0 {
			mesh[v.Id] = k
			continue
		}
		out = append(out, Service{VIP: addrFromBE32(k.Vip), Port: fromBE16(k.Port), Proto: k.Proto,
			ID: v.Id, Backends: v.Count, Flags: uint16(v.Flags)})
	}
	if err := it.Err(); err != nil {
		return nil, mapErr(s.svc, "iterate", err)
	}
	for i := range out {
		if m, ok := mesh[out[i].ID]; ok {
			out[i].Mesh = fromBE16(m.Port)
			delete(mesh, out[i].ID)
		}
	}
	for id, m := range mesh {
		out = append(out, Service{Mesh: fromBE16(m.Port), Proto: m.Proto, ID: id})
	}
	return out, nil
}
