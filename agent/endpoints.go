package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/store"
)

// AddEndpoint validates req, plumbs the veth into the container, attaches from_container,
// writes the endpoints map and stores the endpoint. On any error nothing is left behind.
func (a *Agent) AddEndpoint(ctx context.Context, req api.EndpointRequest) (api.Endpoint, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addEndpoint(ctx, req, "")
}

// addEndpoint is AddEndpoint under a.mu; a nonempty parent makes the endpoint a further
// interface of that endpoint's container (see ConnectEndpoint). Only a container's first
// interface gets the default route.
func (a *Agent) addEndpoint(ctx context.Context, req api.EndpointRequest, parent string) (api.Endpoint, error) {
	ep, mac, net, err := a.parseEndpoint(ctx, req)
	if err != nil {
		return api.Endpoint{}, err
	}
	ep.Parent, ep.HostIP = parent, a.node.UnderlayIP
	others, err := a.netnsIfNames(ctx, ep.Netns)
	if err != nil {
		return api.Endpoint{}, err
	}
	if err := a.syncNetworks(ctx); err != nil { // its network may come from another node
		return api.Endpoint{}, err
	}
	if ep.Identity, err = a.store.Identity(ctx, labelsKey(identityLabels(ep.Labels, ep.Network))); err != nil {
		return api.Endpoint{}, fmt.Errorf("allocate identity: %w", err)
	}
	// Policy entries of a new identity exist before its first packet.
	if err := a.syncPolicy(ctx); err != nil {
		return api.Endpoint{}, err
	}
	ep.HostIfName = endpoint.HostIfName(ep.Name)
	res, err := endpoint.Create(a.hostNS, endpoint.Config{
		NetnsPath:      ep.Netns,
		HostIfName:     ep.HostIfName,
		Addr:           netip.PrefixFrom(ep.IP, net.Subnet.Bits()),
		Gateway:        net.Gateway,
		IfName:         ep.IfName,
		MTU:            ep.MTU,
		HostMAC:        RouterMAC(a.node.UnderlayIP),
		ContainerMAC:   mac,
		NoDefaultRoute: len(others) > 0,
		GSOIPv4MaxSize: a.gsoMaxSize,
	})
	if err != nil {
		return api.Endpoint{}, invalid("endpoint %s: %v", ep.Name, err)
	}
	ep.IfIndex, ep.MAC = res.HostIfIndex, res.ContainerMAC.String()
	if err := a.program(ep, res.ContainerMAC); err != nil {
		a.unprogram(ep)
		return api.Endpoint{}, err
	}
	if err := a.syncCTQuotas(ctx); err != nil { // its quota exists before its first packet
		a.unprogram(ep)
		return api.Endpoint{}, fmt.Errorf("conntrack quota of %s: %w", ep.Name, err)
	}
	if err := a.store.PutEndpoint(ctx, ep); err != nil {
		a.unprogram(ep)
		return api.Endpoint{}, fmt.Errorf("store endpoint %s: %w", ep.Name, err)
	}
	if a.epNames != nil {
		a.epNames[ep.IP] = ep.Name
	}
	if err := a.reconcileServices(ctx); err != nil { // a backend from its first connection
		a.log.Warn("services after endpoint add", "err", err)
	}
	if len(ep.Links) > 0 { // within: linked rules see the links only now
		if err := a.syncPolicy(ctx); err != nil {
			a.log.Warn("policy sync after endpoint add", "err", err)
		}
	}
	a.log.Info("endpoint added", "name", ep.Name, "ip", ep.IP, "ifindex", ep.IfIndex, "identity", ep.Identity,
		"gsoIPv4MaxSize", res.GSOIPv4MaxSize)
	return ep, nil
}

// parseEndpoint checks req against the node, its network and the existing endpoints; it
// returns the endpoint (its address req.IP, or without one the next free of the node's pool),
// its MAC (nil: kernel-chosen) and its network with this node's pool of it (allocated on
// the node's first endpoint of the network, after every other check).
func (a *Agent) parseEndpoint(ctx context.Context, req api.EndpointRequest) (api.Endpoint, net.HardwareAddr, addressPool, error) {
	ep, mac, nw, err := a.parseEndpointFields(ctx, req)
	if err != nil {
		return api.Endpoint{}, nil, addressPool{}, err
	}
	pool, err := a.addressPool(ctx, nw, ep.IP)
	if err != nil {
		return api.Endpoint{}, nil, addressPool{}, err
	}
	if ep.IP, err = a.endpointIP(ctx, ep.IP, pool); err != nil {
		return api.Endpoint{}, nil, addressPool{}, err
	}
	if nw.Name != api.DefaultNetwork {
		if err := a.checkNetworkIPFree(ctx, ep.IP, nw); err != nil {
			return api.Endpoint{}, nil, addressPool{}, err
		}
	}
	return ep, mac, pool, nil
}

// parseEndpointFields checks req's fields against the node, its network and this node's
// endpoints; the endpoint's IP is invalid when req has none.
func (a *Agent) parseEndpointFields(ctx context.Context, req api.EndpointRequest) (api.Endpoint, net.HardwareAddr, api.Network, error) {
	name, err := parseName(req.Name)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	var ip netip.Addr
	if req.IP != "" {
		if ip, err = parseIPv4("IP", req.IP); err != nil {
			return api.Endpoint{}, nil, api.Network{}, err
		}
	}
	nw, err := a.network(ctx, req.Network)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	if ip.IsValid() {
		if err := checkSubnetIP(ip, nw); err != nil {
			return api.Endpoint{}, nil, api.Network{}, err
		}
	}
	mac, err := parseMAC(req.MAC)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	labels, err := parseLabels(req.Labels)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	ifName, mtu, err := a.parseLink(req, nw)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	if req.Netns == "" {
		return api.Endpoint{}, nil, api.Network{}, invalid("endpoint %s: no netns given (--netns /var/run/netns/NAME)", name)
	}
	if _, err := os.Stat(req.Netns); err != nil {
		return api.Endpoint{}, nil, api.Network{}, invalid("netns %q: %v", req.Netns, errors.Unwrap(err))
	}
	existing, err := a.store.Endpoints(ctx)
	if err != nil {
		return api.Endpoint{}, nil, api.Network{}, err
	}
	for _, e := range existing {
		switch {
		case e.Name == name:
			return api.Endpoint{}, nil, api.Network{}, conflict("endpoint %s already exists (IP %s)", name, e.IP)
		case ip.IsValid() && e.IP == ip:
			return api.Endpoint{}, nil, api.Network{}, conflict("IP %s is already used by endpoint %s", ip, e.Name)
		case e.Netns == req.Netns && ifNameOf(e) == ifName:
			return api.Endpoint{}, nil, api.Network{}, conflict("netns %s already holds endpoint %s on %s", req.Netns, e.Name, ifName)
		}
	}
	hostNAT := nw.HostNAT
	if req.HostNAT != nil {
		if *req.HostNAT && !nw.HostNAT {
			return api.Endpoint{}, nil, api.Network{}, invalid("endpoint %s: network %s has host NAT off (--host-nat=false)", name, nw.Name)
		}
		hostNAT = *req.HostNAT
	}
	for _, l := range req.Links {
		if _, err := parseName(l); err != nil {
			return api.Endpoint{}, nil, api.Network{}, invalid("link %q: not an endpoint name", l)
		}
	}
	return api.Endpoint{Name: name, Netns: req.Netns, IP: ip, Labels: labels, HostNAT: hostNAT, IfName: ifName, MTU: mtu,
		Links: req.Links, Network: networkField(nw)}, mac, nw, nil
}

// parseLink returns the container interface name (default eth0) and the veth MTU (default and
// maximum: the node's container MTU, so every packet fits the VXLAN underlay).
func (a *Agent) parseLink(req api.EndpointRequest, nw api.Network) (string, int, error) {
	ifName := cmp.Or(req.IfName, endpoint.DefaultIfName)
	if err := endpoint.CheckIfName(ifName); err != nil {
		return "", 0, invalid("invalid container interface: %v", err)
	}
	most := cmp.Or(nw.MTU, a.node.MTU)
	mtu := cmp.Or(req.MTU, most)
	if mtu < endpoint.MinMTU || mtu > most {
		return "", 0, invalid("invalid MTU %d: want %d..%d (the container MTU of network %s on this node)", mtu, endpoint.MinMTU, most, nw.Name)
	}
	return ifName, mtu, nil
}

// ifNameOf is e's container interface name; records from before IfName existed used eth0.
func ifNameOf(e api.Endpoint) string { return cmp.Or(e.IfName, endpoint.DefaultIfName) }

// program attaches the program to the endpoint's veth and writes its map entry.
func (a *Agent) program(ep api.Endpoint, mac net.HardwareAddr) error {
	if err := a.dp.AttachContainer(ep.HostIfName, ep.IfIndex); err != nil {
		return err
	}
	err := a.dmaps.endpoints.Put(maps.Endpoint{
		IP: ep.IP, IfIndex: ep.IfIndex, MAC: mac, Identity: ep.Identity,
		HostNAT: ep.HostNAT, Published: len(ep.Ports) > 0 || a.svcBackendIPs[ep.IP],
	})
	if errors.Is(err, maps.ErrFull) {
		return full("cannot add endpoint %s: %v", ep.Name, err)
	}
	return err
}

// unprogram undoes program and the veth, logging what fails (best effort, used on rollback and
// delete).
func (a *Agent) unprogram(ep api.Endpoint) {
	for _, m := range ep.Ports {
		a.unpublishEntries(m)
	}
	if err := a.dmaps.endpoints.Delete(ep.IP); err != nil && !errors.Is(err, maps.ErrNotFound) {
		a.log.Warn("delete endpoint map entry", "name", ep.Name, "err", err)
	}
	if err := a.dp.DetachContainer(ep.HostIfName, ep.IfIndex); err != nil {
		a.log.Warn("detach program", "name", ep.Name, "err", err)
	}
	if err := endpoint.Delete(a.hostNS, ep.HostIfName); err != nil {
		a.log.Warn("delete veth", "name", ep.Name, "err", err)
	}
}

// DeleteEndpoint removes the named endpoint: map entry first (its traffic stops), then the
// program, the veth and the stored record.
func (a *Agent) DeleteEndpoint(ctx context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ep, err := a.findEndpoint(ctx, name)
	if err != nil {
		return err
	}
	ifaces, err := a.interfacesOf(ctx, ep)
	if err != nil {
		return err
	}
	for _, e := range ifaces { // its further interfaces first, then itself
		if err := a.removeEndpoint(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// removeEndpoint undoes e's programming, veth and stored record (a.mu held).
func (a *Agent) removeEndpoint(ctx context.Context, e api.Endpoint) error {
	a.unprogram(e)
	if err := a.syncCTQuotas(ctx); err != nil { // the others' fair share grows
		a.log.Warn("conntrack quotas after endpoint delete", "err", err)
	}
	if err := a.store.DeleteEndpoint(ctx, e.Name); err != nil {
		return fmt.Errorf("delete endpoint %s from store: %w", e.Name, err)
	}
	if err := a.reconcileServices(ctx); err != nil { // no new connection picks it
		a.log.Warn("services after endpoint delete", "err", err)
	}
	a.log.Info("endpoint deleted", "name", e.Name, "ip", e.IP, "network", cmp.Or(e.Network, api.DefaultNetwork))
	return nil
}

func (a *Agent) findEndpoint(ctx context.Context, name string) (api.Endpoint, error) {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return api.Endpoint{}, err
	}
	for _, e := range eps {
		if e.Name == name {
			return e, nil
		}
	}
	return api.Endpoint{}, notFound("endpoint %s: %v", name, store.ErrNotFound)
}

// Endpoints lists the stored endpoints with their current host-side ifindex (0 when the veth
// is gone, e.g. the container's netns was deleted).
func (a *Agent) Endpoints(ctx context.Context) ([]api.Endpoint, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	for i := range eps {
		eps[i].IfIndex, _ = endpoint.Lookup(a.hostNS, eps[i].HostIfName)
	}
	return eps, nil
}
