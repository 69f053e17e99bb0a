package agent

// Services in the datapath: backends, Maglev tables and map entries, by mark and sweep.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/lb"
	"github.com/ebpfnet/ebpfnet/maps"
)

// backendView is what a service's backends are chosen from: this host's endpoints that the
// datapath forwards to (in the endpoints map) and the cluster's other endpoints behind a known
// peer (with etcd: a live node, so a dead node's backends leave with its lease).
type backendView struct {
	local map[netip.Addr]bool // endpoints of this host in the endpoints map
	eps   []api.Endpoint      // every candidate, local and remote
}

func (a *Agent) backendView(ctx context.Context) (backendView, error) {
	v := backendView{local: map[netip.Addr]bool{}}
	programmed, err := a.dmaps.endpoints.All()
	if err != nil {
		return v, err
	}
	for _, e := range programmed {
		v.local[e.IP] = true
	}
	local, err := a.store.Endpoints(ctx)
	if err != nil {
		return v, err
	}
	cluster, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return v, err
	}
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return v, err
	}
	mine := map[netip.Addr]bool{}
	for _, e := range local {
		mine[e.IP] = true
		if v.local[e.IP] {
			v.eps = append(v.eps, e)
		}
	}
	for _, e := range cluster {
		if !mine[e.IP] && slices.ContainsFunc(peers, func(p api.Peer) bool { return p.CIDR.Contains(e.IP) }) {
			v.eps = append(v.eps, e)
		}
	}
	return v, nil
}

// backendsOf lists the endpoints svc's selector picks that do not fail its health check,
// ordered by IP.
func (v backendView) backendsOf(svc api.Service) []api.ServiceBackend {
	sel, err := labels.Parse(svc.Selector)
	if err != nil { // validated when stored
		return nil
	}
	out := []api.ServiceBackend{}
	for _, e := range v.eps {
		if sel.Matches(labels.Set(e.Labels)) && !slices.Contains(e.Unhealthy, svc.Port) {
			out = append(out, api.ServiceBackend{Endpoint: e.Name, IP: e.IP, Local: v.local[e.IP]})
		}
	}
	slices.SortFunc(out, func(x, y api.ServiceBackend) int { return x.IP.Compare(y.IP) })
	return out
}

type serviceKey struct {
	vip   netip.Addr
	port  uint16
	proto uint8
}

// reconcileServices makes the service maps match the stored services and their current
// backends: entries of deleted services go first (freeing their IDs), then each service keeps
// its map ID (a new one takes the lowest free) and gets a new Maglev table when its backends
// changed; local backends get the endpoint flag that has their replies translated back.
func (a *Agent) reconcileServices(ctx context.Context) error {
	svcs, err := a.store.Services(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(svcs, func(s api.Service) bool { return s.HealthCheck != 0 }) {
		a.healthEpoch.Add(1)
	}
	view, err := a.backendView(ctx)
	if err != nil {
		return err
	}
	have, err := a.maps.Services.All()
	if err != nil {
		return err
	}
	ids := map[serviceKey]uint32{}
	for _, s := range have {
		ids[serviceKey{s.VIP, s.Port, s.Proto}] = s.ID
	}
	wanted, used, meshOf := map[serviceKey]bool{}, map[uint32]bool{}, map[uint32]uint16{}
	for _, s := range svcs {
		k := serviceKey{s.VIP, s.Port, protoNumber(s.Proto)}
		wanted[k] = true
		if id, ok := ids[k]; ok {
			used[id], meshOf[id] = true, s.Publish
		}
	}
	err = sweep(have, func(s maps.Service) bool { return wanted[serviceKey{s.VIP, s.Port, s.Proto}] && meshOf[s.ID] == s.Mesh },
		func(s maps.Service) error {
			delete(a.svcWritten, s.ID)
			return a.maps.Services.Delete(s)
		})
	if err != nil {
		return err
	}
	backendIPs := map[netip.Addr]bool{}
	var mesh []maps.Backend // local backends of mesh services
	next := uint32(1)
	for _, s := range svcs {
		id, ok := ids[serviceKey{s.VIP, s.Port, protoNumber(s.Proto)}]
		for ; !ok && used[next]; next++ {
		}
		if !ok {
			id, used[next] = next, true
		}
		bs := view.backendsOf(s)
		for _, b := range bs {
			if b.Local {
				backendIPs[b.IP] = true
				if m := (maps.Backend{IP: b.IP, Port: s.Port}); s.Publish != 0 && !slices.Contains(mesh, m) {
					mesh = append(mesh, m)
				}
			}
		}
		if err := a.programService(s, id, bs); err != nil {
			return err
		}
	}
	a.svcBackendIPs = backendIPs
	if err := a.maps.Services.SetMeshBackends(mesh); err != nil {
		return err
	}
	return a.syncBackendFlags(ctx)
}

// programService writes s as map ID id with backends bs, unless the same was last written.
func (a *Agent) programService(s api.Service, id uint32, bs []api.ServiceBackend) error {
	var flags uint16
	if s.Affinity == api.AffinityClientIP {
		flags |= maps.ServiceAffinityClient
	}
	if s.LB == api.LBRandom {
		flags |= maps.ServiceRandom
	}
	backends := make([]maps.Backend, len(bs))
	names := make([]string, len(bs))
	for i, b := range bs {
		backends[i] = maps.Backend{IP: b.IP, Port: s.Port}
		names[i] = netip.AddrPortFrom(b.IP, s.Port).String()
	}
	written := fmt.Sprint(s, id, names)
	if a.svcWritten[id] == written {
		return nil
	}
	if len(bs) > 0xffff || len(bs) >= a.maps.Services.TableSize() {
		return full("service %s: %d backends, at most %d", s.Name, len(bs), min(0xffff, a.maps.Services.TableSize()-1))
	}
	var table []maps.Backend
	if len(bs) > 0 {
		idx, err := lb.Table(names, a.maps.Services.TableSize())
		if err != nil {
			return err
		}
		table = make([]maps.Backend, len(idx))
		for i, b := range idx {
			table[i] = backends[b]
		}
	}
	err := a.maps.Services.Put(maps.Service{VIP: s.VIP, Port: s.Port, Proto: protoNumber(s.Proto), ID: id,
		Backends: uint16(len(bs)), Flags: flags, Mesh: s.Publish}, backends, table)
	if errors.Is(err, maps.ErrFull) {
		return full("service %s: %v", s.Name, err)
	}
	if err != nil {
		return err
	}
	if a.svcWritten == nil {
		a.svcWritten = map[uint32]string{}
	}
	a.svcWritten[id] = written
	a.log.Info("service programmed", "name", s.Name, "id", id, "backends", len(bs))
	return nil
}

// syncBackendFlags sets the endpoints-map flag that has replies looked up for reverse DNAT
// (ENDPOINT_F_PUBLISHED) on local endpoints that publish ports or back a service, and clears
// it on the others.
func (a *Agent) syncBackendFlags(ctx context.Context) error {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return err
	}
	publishes := map[netip.Addr]bool{}
	for _, e := range eps {
		publishes[e.IP] = len(e.Ports) > 0
	}
	have, err := a.dmaps.endpoints.All()
	if err != nil {
		return err
	}
	for _, e := range have {
		if want := publishes[e.IP] || a.svcBackendIPs[e.IP]; e.Published != want {
			e.Published = want
			if err := a.dmaps.endpoints.Put(e); err != nil {
				return err
			}
		}
	}
	return nil
}
