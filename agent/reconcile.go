package agent

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/maps"
)

// reconcile makes the maps and links match the store by mark and sweep: desired entries are
// (re)written in place and only entries nobody wants are deleted, so established traffic is
// never interrupted by a restart (no flush). Endpoints whose veth is gone are left out of the
// map until they are deleted or re-added.
func (a *Agent) reconcile(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.syncNetworks(ctx); err != nil { // before the endpoints of its networks
		return err
	}
	if err := a.reconcileEndpoints(ctx); err != nil {
		return err
	}
	if err := a.reconcilePublished(ctx); err != nil {
		return err
	}
	if err := a.reconcilePeerHosts(ctx); err != nil { // before the routes to them, see resyncFromStore
		return err
	}
	if err := a.reconcileIPCache(ctx); err != nil {
		return err
	}
	if err := a.reconcileServices(ctx); err != nil {
		return err
	}
	// A stored policy that no longer fits (identities grew) must not stop the agent: the
	// policy in force stays, and the error is logged and shown by `policy list`.
	a.notePolicySync(a.syncPolicy(ctx))
	return nil
}

// reconcilePublished rewrites the published-port entries of the stored endpoints and deletes
// the others.
func (a *Agent) reconcilePublished(ctx context.Context) error {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return err
	}
	type key struct {
		hostIP netip.Addr
		port   uint16
		proto  uint8
	}
	var want []maps.PortMapping
	wanted := map[key]bool{}
	for _, ep := range eps {
		for _, m := range ep.Ports {
			for _, e := range expand(m, ep.IP) {
				want = append(want, e)
				wanted[key{e.HostIP, e.HostPort, e.Proto}] = true
			}
		}
	}
	have, err := a.dmaps.published.All()
	if err != nil {
		return err
	}
	err = sweep(have, func(e maps.PortMapping) bool { return wanted[key{e.HostIP, e.HostPort, e.Proto}] },
		func(e maps.PortMapping) error { return a.dmaps.published.Delete(e.HostIP, e.HostPort, e.Proto) })
	if err != nil {
		return err
	}
	return a.dmaps.published.Put(want...)
}

func (a *Agent) reconcileEndpoints(ctx context.Context) error {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return err
	}
	want := make(map[netip.Addr]bool, len(eps))
	for _, ep := range eps {
		idx, err := endpoint.Lookup(a.hostNS, ep.HostIfName)
		if errors.Is(err, endpoint.ErrNotFound) {
			a.log.Warn("endpoint veth is gone; not forwarding to it", "name", ep.Name, "veth", ep.HostIfName)
			continue
		}
		if err != nil {
			return err
		}
		mac, err := net.ParseMAC(ep.MAC)
		if err != nil {
			return err
		}
		ep.IfIndex = idx
		if err := a.program(ep, mac); err != nil {
			return err
		}
		want[ep.IP] = true
	}
	have, err := a.dmaps.endpoints.All()
	if err != nil {
		return err
	}
	err = sweep(have, func(e maps.Endpoint) bool { return want[e.IP] },
		func(e maps.Endpoint) error { return a.dmaps.endpoints.Delete(e.IP) })
	if err != nil {
		return err
	}
	return a.syncCTQuotas(ctx)
}

func (a *Agent) reconcileIPCache(ctx context.Context) error {
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return err
	}
	want := make(map[netip.Prefix]maps.Route, len(peers)+1)
	if a.node.PodCIDR.IsValid() {
		// Our own pod CIDR: an address there without an endpoint is dropped, not tunnelled.
		want[a.node.PodCIDR] = maps.Route{Prefix: a.node.PodCIDR}
	}
	nets, err := a.networks(ctx)
	if err != nil {
		return err
	}
	own, err := a.ownSliceRoutes(ctx, nets)
	if err != nil {
		return err
	}
	for _, p := range own { // as our own pod CIDR
		want[p] = maps.Route{Prefix: p}
	}
	for _, p := range peers {
		want[p.CIDR] = peerRoute(p)
		r := remoteNodeRoute(p)
		want[r.Prefix] = r
	}
	remote, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, r := range remoteEndpointRoutes(remote, peers) {
		want[r.Prefix] = r
	}
	have, err := a.dmaps.ipcache.All()
	if err != nil {
		return err
	}
	had := make(map[netip.Prefix]maps.Route, len(have))
	for _, r := range have {
		had[r.Prefix] = r
	}
	err = sweep(have, func(r maps.Route) bool { _, ok := want[r.Prefix]; return ok },
		func(r maps.Route) error {
			if err := a.dmaps.ipcache.Delete(r.Prefix); err != nil {
				return err
			}
			a.log.Info("ipcache route removed", "cidr", r.Prefix, "via", r.TunnelEndpoint)
			return nil
		})
	if err != nil {
		return err
	}
	for _, r := range want {
		if err := a.dmaps.ipcache.Put(r); err != nil {
			return err
		}
		if old, ok := had[r.Prefix]; !ok || old.TunnelEndpoint != r.TunnelEndpoint {
			a.log.Info("ipcache route set", "cidr", r.Prefix, "via", r.TunnelEndpoint)
		}
	}
	return nil
}

// remoteEndpointRoutes are /32 ipcache entries for endpoints behind peers, carrying their
// identities (cf. Cilium's ipcache), so a sender decides policy at its own egress and drops
// denied packets before they cross the underlay, and a native network's receiver (no VXLAN
// GBP identity on the wire) knows its source's identity. Every endpoint of every network gets
// one; the peer's slice of a network (one entry per node and network) routes what no /32
// names yet. An endpoint created before slices existed, or sitting in another node's later
// slice, goes to its own host. Endpoints of no known peer are left out.
func remoteEndpointRoutes(eps []api.Endpoint, peers []api.Peer) []maps.Route {
	var out []maps.Route
	for _, e := range eps {
		via := endpointPeer(e, peers)
		if via == nil {
			continue
		}
		out = append(out, maps.Route{Prefix: netip.PrefixFrom(e.IP, 32), TunnelEndpoint: via.HostIP,
			Identity: e.Identity, PlainVXLAN: via.PlainVXLAN})
	}
	return out
}

// endpointPeer is the peer that routes endpoint e: one whose CIDR holds e's address (for an
// endpoint of a network other than the default one: a CIDR of its own host), else for such an
// endpoint any peer of its host (HostIP); nil when none.
func endpointPeer(e api.Endpoint, peers []api.Peer) *api.Peer {
	var host *api.Peer
	for i, p := range peers {
		own := e.Network == "" || e.HostIP == p.HostIP
		if own && p.CIDR.Contains(e.IP) {
			return &peers[i]
		}
		if e.Network != "" && e.HostIP == p.HostIP && host == nil {
			host = &peers[i]
		}
	}
	return host
}
