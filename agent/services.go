package agent

// Services: a virtual IP balanced over the endpoints its selector picks on any host (issue 15).

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// AddService validates req, allocates its VIP (the first free address of --service-cidr
// unless given), stores it (cluster-wide with etcd) and programs it with its current backends.
// Refused, with nothing changed: a malformed name, port, selector, VIP, algorithm or affinity
// (api.ErrInvalid); a VIP outside the service CIDR (ErrInvalid); a name or VIP in use, or a
// --publish port published by an endpoint, used by another service or bound by a host process
// (api.ErrConflict); more services
// than the maps hold (api.ErrFull).
func (a *Agent) AddService(ctx context.Context, req api.ServiceRequest) (api.ServiceInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	svcs, err := a.store.Services(ctx)
	if err != nil {
		return api.ServiceInfo{}, err
	}
	svc, err := a.parseService(ctx, req, svcs)
	if err != nil {
		return api.ServiceInfo{}, err
	}
	if err := a.store.CreateService(ctx, svc); errors.Is(err, store.ErrExists) {
		return api.ServiceInfo{}, conflict("service %s already exists", svc.Name)
	} else if err != nil {
		return api.ServiceInfo{}, err
	}
	if err := a.reconcileServices(ctx); err != nil {
		if derr := a.store.DeleteService(ctx, svc.Name); derr != nil {
			a.log.Warn("roll back service", "name", svc.Name, "err", derr)
		}
		return api.ServiceInfo{}, err
	}
	a.log.Info("service added", "name", svc.Name, "vip", svc.VIP, "port", svc.Port, "protocol", svc.Proto, "selector", svc.Selector)
	return a.serviceInfo(ctx, svc)
}

// parseService checks req against the configuration and the existing services svcs.
func (a *Agent) parseService(ctx context.Context, req api.ServiceRequest, svcs []api.Service) (api.Service, error) {
	name, err := parseName(req.Name)
	if err != nil {
		return api.Service{}, err
	}
	if slices.ContainsFunc(svcs, func(s api.Service) bool { return s.Name == name }) {
		return api.Service{}, conflict("service %s already exists", name)
	}
	m, err := parsePortSpec(req.Port, false)
	if err != nil {
		return api.Service{}, err
	}
	if m.HostPort != m.HostPortEnd {
		return api.Service{}, invalid("service port %q: one port, e.g. 80/tcp", req.Port)
	}
	svc := api.Service{Name: name, Port: m.HostPort, Proto: m.Proto, Publish: req.Publish,
		LB: defaultTo(req.LB, api.LBMaglev), Affinity: defaultTo(req.Affinity, api.AffinityNone)}
	if svc.Selector, err = parseServiceSelector(req.Selector); err != nil {
		return api.Service{}, err
	}
	if svc.LB != api.LBMaglev && svc.LB != api.LBRandom {
		return api.Service{}, invalid("load balancing %q: want %s or %s", req.LB, api.LBMaglev, api.LBRandom)
	}
	if svc.Affinity != api.AffinityNone && svc.Affinity != api.AffinityClientIP {
		return api.Service{}, invalid("affinity %q: want %s or %s", req.Affinity, api.AffinityNone, api.AffinityClientIP)
	}
	if svc.HealthCheck, err = parseHealthCheck(req.HealthCheck, svc.Port); err != nil {
		return api.Service{}, err
	}
	if svc.VIP, err = a.serviceVIP(req.VIP, svcs); err != nil {
		return api.Service{}, err
	}
	if n, max := len(svcs)+1, a.maps.Services.MaxServices()-1; n > max {
		return api.Service{}, full("cannot add service %s: the service maps hold %d services", name, max)
	}
	if svc.Publish != 0 {
		if err := a.checkMeshPort(ctx, svc, svcs); err != nil {
			return api.Service{}, err
		}
	}
	return svc, nil
}

func defaultTo(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseServiceSelector requires a non-empty Kubernetes label selector (as policy selectors,
// k8s.io/apimachinery labels.Parse) and returns its canonical text.
func parseServiceSelector(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", invalid("service selector is empty: want labels of the backends, e.g. app=web")
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return "", invalid("invalid selector %q: %v", s, err)
	}
	return sel.String(), nil
}

// serviceVIP parses the requested VIP (an IPv4 host address of the service CIDR that no
// service uses) or, when empty, allocates the first free one.
func (a *Agent) serviceVIP(req string, svcs []api.Service) (netip.Addr, error) {
	cidr := a.cfg.ServiceCIDR
	used := map[netip.Addr]string{}
	for _, s := range svcs {
		used[s.VIP] = s.Name
	}
	if req == "" {
		for ip := cidr.Addr().Next(); cidr.Contains(ip) && ip != lastAddr(cidr); ip = ip.Next() {
			if _, ok := used[ip]; !ok {
				return ip, nil
			}
		}
		return netip.Addr{}, full("no free VIP left in the service CIDR %s", cidr)
	}
	ip, err := parseIPv4("VIP", req)
	if err != nil {
		return ip, err
	}
	if !cidr.Contains(ip) || ip == cidr.Addr() || ip == lastAddr(cidr) {
		return ip, invalid("VIP %s is not a host address of the service CIDR %s (--service-cidr)", ip, cidr)
	}
	if other, ok := used[ip]; ok {
		return ip, conflict("VIP %s is in use by service %s", ip, other)
	}
	return ip, nil
}

// checkMeshPort refuses (api.ErrConflict) a routing-mesh port that an endpoint of the cluster
// publishes, another service uses as its mesh port, or a process of this host has bound (as
// `publish add` refuses it: the mesh port answers on every local address, shadowing it).
func (a *Agent) checkMeshPort(ctx context.Context, svc api.Service, svcs []api.Service) error {
	for _, s := range svcs {
		if s.Publish == svc.Publish && s.Proto == svc.Proto {
			return conflict("port %d/%s is the routing-mesh port of service %s", svc.Publish, svc.Proto, s.Name)
		}
	}
	eps, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return err
	}
	want := api.PortMapping{HostPort: svc.Publish, HostPortEnd: svc.Publish, Proto: svc.Proto}
	for _, e := range eps {
		for _, p := range e.Ports {
			if overlaps(p, want) {
				return conflict("port %d/%s is published by endpoint %s (%s)", svc.Publish, svc.Proto, e.Name, portString(p))
			}
		}
	}
	return checkHostPortsFree(want)
}

// refuseMeshPorts refuses (api.ErrConflict) publishing m over a service's routing-mesh port:
// the mesh answers on every address of every host, so the two would claim the same packets.
func (a *Agent) refuseMeshPorts(ctx context.Context, m api.PortMapping) error {
	svcs, err := a.store.Services(ctx)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		mesh := api.PortMapping{HostPort: s.Publish, HostPortEnd: s.Publish, Proto: s.Proto}
		if s.Publish != 0 && overlaps(m, mesh) {
			return conflict("port %s is the routing-mesh port of service %s", portString(m), s.Name)
		}
	}
	return nil
}

// DeleteService removes the named service from the store and the datapath; its connections
// end (their backends are no longer looked up).
func (a *Agent) DeleteService(ctx context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.store.DeleteService(ctx, name); errors.Is(err, store.ErrNotFound) {
		return notFound("service %s: not found", name)
	} else if err != nil {
		return err
	}
	a.log.Info("service deleted", "name", name)
	return a.reconcileServices(ctx)
}

// Services lists the services with their current backends.
func (a *Agent) Services(ctx context.Context) ([]api.ServiceInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	svcs, err := a.store.Services(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.ServiceInfo, 0, len(svcs))
	for _, s := range svcs {
		info, err := a.serviceInfo(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Service returns the named service with its current backends.
func (a *Agent) Service(ctx context.Context, name string) (api.ServiceInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	svcs, err := a.store.Services(ctx)
	if err != nil {
		return api.ServiceInfo{}, err
	}
	i := slices.IndexFunc(svcs, func(s api.Service) bool { return s.Name == name })
	if i < 0 {
		return api.ServiceInfo{}, notFound("service %s: not found", name)
	}
	return a.serviceInfo(ctx, svcs[i])
}

// serviceInfo is svc with the backends the datapath balances it over.
func (a *Agent) serviceInfo(ctx context.Context, svc api.Service) (api.ServiceInfo, error) {
	view, err := a.backendView(ctx)
	if err != nil {
		return api.ServiceInfo{}, err
	}
	return api.ServiceInfo{Service: svc, Backends: view.backendsOf(svc)}, nil
}
