package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/maps"
)

// Publish forwards host ports to an endpoint through the "published" BPF map (no iptables,
// no proxy process). Refused: malformed specs, unknown endpoint, a host IP that is not this
// host's, ports already published (unless Replace moves an identical mapping, which takes
// existing flows along at once), a service's routing-mesh port, ports a host process listens on (as Docker reserves its
// ports), and more entries than the map holds.
func (a *Agent) Publish(ctx context.Context, req api.PublishRequest) (api.PortMapping, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, err := parsePortSpec(req.Spec, true)
	if err != nil {
		return m, err
	}
	if req.HostIP != "" {
		if m.HostIP, err = parseIPv4("host IP", req.HostIP); err != nil {
			return m, err
		}
		if err := checkHostAddr(m.HostIP); err != nil {
			return m, err
		}
	}
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return m, err
	}
	target := slices.IndexFunc(eps, func(e api.Endpoint) bool { return e.Name == req.Endpoint })
	if target < 0 {
		return m, notFound("endpoint %s: not found", req.Endpoint)
	}
	if err := a.checkHostPorts(ctx, eps[target]); err != nil {
		return m, err
	}
	moved, total, err := a.checkPortConflicts(eps, m, req.Replace)
	if err != nil {
		return m, err
	}
	if err := a.refuseMeshPorts(ctx, m); err != nil {
		return m, err
	}
	if moved < 0 {
		if err := checkHostPortsFree(m); err != nil {
			return m, err
		}
	}
	if n := total + int(m.HostPortEnd-m.HostPort) + 1; n > a.dmaps.published.MaxEntries() {
		return m, full("cannot publish %s: %d published ports would exceed the map's %d entries", portString(m), n, a.dmaps.published.MaxEntries())
	}
	ep := eps[target]
	if err := a.dmaps.published.Put(expand(m, ep.IP)...); err != nil {
		return m, err
	}
	if moved >= 0 && eps[moved].Name != ep.Name {
		old := &eps[moved]
		old.Ports = slices.DeleteFunc(old.Ports, func(p api.PortMapping) bool { return sameMapping(p, m) })
		if err := a.storePorts(ctx, *old); err != nil {
			return m, err
		}
	}
	ep.Ports = append(slices.DeleteFunc(ep.Ports, func(p api.PortMapping) bool { return sameMapping(p, m) }), m)
	if err := a.storePorts(ctx, ep); err != nil {
		return m, err
	}
	a.log.Info("ports published", "endpoint", ep.Name, "mapping", portString(m))
	return m, nil
}

// checkPortConflicts finds a mapping of any endpoint overlapping m. It returns the index of
// the endpoint whose identical mapping Replace may move (-1 if none) and the number of host
// ports published in total.
func (a *Agent) checkPortConflicts(eps []api.Endpoint, m api.PortMapping, replace bool) (int, int, error) {
	moved, total := -1, 0
	for i, e := range eps {
		for _, p := range e.Ports {
			total += int(p.HostPortEnd-p.HostPort) + 1
			if !overlaps(p, m) {
				continue
			}
			if replace && sameMapping(p, m) {
				moved = i
				continue
			}
			return -1, 0, conflict("port %s is already published by endpoint %s (%s)", portString(m), e.Name, portString(p))
		}
	}
	return moved, total, nil
}

// checkHostAddr requires ip to be an address of a device in the agent's netns.
func checkHostAddr(ip netip.Addr) error {
	addrs, err := netlink.AddrList(nil, unix.AF_INET)
	if err != nil {
		return fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP.To4()); ok && got == ip {
			return nil
		}
	}
	return invalid("host IP %s is not an address of this host", ip)
}

// checkHostPortsFree refuses ports that a host process has bound, by binding each one briefly
// (what docker-proxy's bind would hit); bound sockets are closed at once.
func checkHostPortsFree(m api.PortMapping) error {
	host := "0.0.0.0"
	if m.HostIP.IsValid() {
		host = m.HostIP.String()
	}
	for p := int(m.HostPort); p <= int(m.HostPortEnd); p++ {
		addr := net.JoinHostPort(host, fmt.Sprint(p))
		var err error
		if m.Proto == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp4", addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp4", addr); err == nil {
				l.Close()
			}
		}
		if errors.Is(err, unix.EADDRINUSE) {
			return conflict("port %d/%s is in use by a process on this host", p, m.Proto)
		}
		if err != nil {
			return fmt.Errorf("check port %d/%s: %w", p, m.Proto, err)
		}
	}
	return nil
}

// storePorts persists ep's port list and its PUBLISHED flag in the endpoints map.
func (a *Agent) storePorts(ctx context.Context, ep api.Endpoint) error {
	if idx, err := endpoint.Lookup(a.hostNS, ep.HostIfName); err == nil {
		ep.IfIndex = idx
		mac, err := net.ParseMAC(ep.MAC)
		if err != nil {
			return err
		}
		if err := a.program(ep, mac); err != nil {
			return err
		}
	}
	return a.store.PutEndpoint(ctx, ep)
}

// Unpublish removes the mapping of endpoint name that claims spec's host ports ("8080/tcp",
// "8080:80/tcp", ranges alike).
func (a *Agent) Unpublish(ctx context.Context, name string, req api.PublishRequest) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, err := parsePortSpec(req.Spec, false)
	if err != nil {
		return err
	}
	if req.HostIP != "" {
		if m.HostIP, err = parseIPv4("host IP", req.HostIP); err != nil {
			return err
		}
	}
	ep, err := a.findEndpoint(ctx, name)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ep.Ports, func(p api.PortMapping) bool { return sameMapping(p, m) })
	if i < 0 {
		return notFound("endpoint %s publishes no %s", name, portString(m))
	}
	a.unpublishEntries(ep.Ports[i])
	ep.Ports = slices.Delete(ep.Ports, i, i+1)
	a.log.Info("ports unpublished", "endpoint", name, "mapping", portString(m))
	return a.storePorts(ctx, ep)
}

// unpublishEntries deletes m's map entries (best effort: missing ones are fine).
func (a *Agent) unpublishEntries(m api.PortMapping) {
	for _, e := range expand(m, netip.IPv4Unspecified()) {
		if err := a.dmaps.published.Delete(e.HostIP, e.HostPort, e.Proto); err != nil && !errors.Is(err, maps.ErrNotFound) {
			a.log.Warn("unpublish", "port", e.HostPort, "err", err)
		}
	}
}

// PublishedPorts lists every endpoint's mappings, as endpoint name -> mappings.
func (a *Agent) PublishedPorts(ctx context.Context) (map[string][]api.PortMapping, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]api.PortMapping{}
	for _, e := range eps {
		if len(e.Ports) > 0 {
			out[e.Name] = e.Ports
		}
	}
	return out, nil
}
