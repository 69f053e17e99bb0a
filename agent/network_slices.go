package agent

// A node's address pool on each network: the pod CIDR of the default network, and on every
// other network the node's slice of its subnet (allocated in the store on the node's first
// endpoint there), whose first address is the gateway.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// addressPool is where this node's endpoints of a network take their addresses.
type addressPool struct {
	api.Network
	Pool    netip.Prefix // the node's pod CIDR or slice (the cluster CIDR without --pod-cidr)
	Gateway netip.Addr   // the containers' gateway: the pool's first address
}

// addressPool returns this node's pool on nw: on the default network the pod CIDR and the
// node's gateway; on another network the node's slice of its subnet, allocated in the store
// on first use (store.Store.NetworkSlice) around hint, the requested address, or without one
// the address of an endpoint the node has on nw from before slices (so an upgraded node's
// slice holds its existing endpoints when it can). Errors: api.ErrFull naming the network
// when no slice is free, store errors.
func (a *Agent) addressPool(ctx context.Context, nw api.Network, hint netip.Addr) (addressPool, error) {
	if nw.Name == api.DefaultNetwork {
		return addressPool{Network: nw, Pool: cmp.Or(a.node.PodCIDR, a.node.Cluster), Gateway: a.node.Gateway}, nil
	}
	if !hint.IsValid() {
		eps, err := a.store.Endpoints(ctx)
		if err != nil {
			return addressPool{}, err
		}
		for _, e := range eps {
			if e.Network == nw.Name && !hint.IsValid() {
				hint = e.IP
			}
		}
	}
	bits := nw.SlicePrefixLen()
	slice, err := a.store.NetworkSlice(ctx, nw.Subnet, bits, hint, a.cfg.Store.CIDRGrace)
	if errors.Is(err, store.ErrCIDRTaken) {
		return addressPool{}, full("network %s: no free /%d slice of its subnet %s for this node (%v)", nw.Name, bits, nw.Subnet, err)
	}
	if err != nil {
		return addressPool{}, fmt.Errorf("network %s: this node's slice: %w", nw.Name, err)
	}
	return addressPool{Network: nw, Pool: slice, Gateway: slice.Addr().Next()}, nil
}

// checkSubnetIP requires ip inside nw's subnet (the cluster CIDR for the default network).
func checkSubnetIP(ip netip.Addr, nw api.Network) error {
	switch {
	case nw.Name == api.DefaultNetwork && !nw.Subnet.Contains(ip):
		return invalid("IP %s is outside the cluster CIDR %s", ip, nw.Subnet)
	case !nw.Subnet.Contains(ip):
		return invalid("IP %s is outside the subnet %s of network %s", ip, nw.Subnet, nw.Name)
	}
	return nil
}

// endpointIP is the address of a new endpoint in pool p: ip checked against it (inside, not
// its network, gateway or broadcast address), or without one (invalid ip) the lowest address of
// p that is neither reserved nor used by an endpoint of any node.
func (a *Agent) endpointIP(ctx context.Context, ip netip.Addr, p addressPool) (netip.Addr, error) {
	reserved := func(ip netip.Addr) bool { return ip == p.Pool.Addr() || ip == p.Gateway || ip == lastAddr(p.Pool) }
	if ip.IsValid() {
		switch {
		case !p.Pool.Contains(ip) && p.Name == api.DefaultNetwork:
			return netip.Addr{}, invalid("IP %s is outside this node's pod CIDR %s", ip, p.Pool)
		case !p.Pool.Contains(ip):
			return netip.Addr{}, invalid("IP %s is outside this node's slice %s of network %s (ebpfnet network inspect %s)", ip, p.Pool, p.Name, p.Name)
		case reserved(ip):
			return netip.Addr{}, invalid("IP %s is reserved in %s (network, gateway %s or broadcast address)", ip, p.Pool, p.Gateway)
		}
		return ip, nil
	}
	if p.Name == api.DefaultNetwork && !a.node.PodCIDR.IsValid() {
		return netip.Addr{}, invalid("no IP given and this node has no pod CIDR to take one from: give --ip, or start the agent with --pod-cidr or --store etcd")
	}
	eps, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list endpoints: %w", err)
	}
	used := make(map[netip.Addr]bool, len(eps))
	for _, e := range eps {
		used[e.IP] = true
	}
	for ip := p.Pool.Addr(); p.Pool.Contains(ip); ip = ip.Next() {
		if !used[ip] && !reserved(ip) {
			return ip, nil
		}
	}
	return netip.Addr{}, full("network %s: no free address left in this node's pool %s", p.Name, p.Pool)
}

// networkSlices lists the allocated slices and pod CIDRs (store.Store.NetworkSlices) and,
// with the local store, this node's --pod-cidr.
func (a *Agent) networkSlices(ctx context.Context) ([]api.NetworkSlice, error) {
	all, err := a.store.NetworkSlices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list network slices: %w", err)
	}
	if a.cl == nil && a.node.PodCIDR.IsValid() {
		all = append([]api.NetworkSlice{{CIDR: a.node.PodCIDR, Self: true}}, all...)
	}
	return all, nil
}

// slicesOf are the slices of all inside n's subnet (an empty list, never null).
func slicesOf(n api.Network, all []api.NetworkSlice) []api.NetworkSlice {
	out := []api.NetworkSlice{}
	for _, s := range all {
		if n.Subnet.Contains(s.CIDR.Addr()) {
			out = append(out, s)
		}
	}
	return out
}

// ownSliceRoutes are the ipcache entries of this node's slices of the networks nets (no
// tunnel endpoint): an address there without an endpoint is dropped, not tunnelled, as in the
// node's pod CIDR.
func (a *Agent) ownSliceRoutes(ctx context.Context, nets []api.Network) ([]netip.Prefix, error) {
	all, err := a.store.NetworkSlices(ctx)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, n := range nets {
		for _, s := range slicesOf(n, all) {
			if s.Self && n.Name != api.DefaultNetwork {
				out = append(out, s.CIDR)
			}
		}
	}
	return out, nil
}

// NetworkSlice returns this node's slice of the named network, allocating it on first use
// (the CNI plugin fills its IPAM ranges with it); on the default network the node's pod CIDR.
// Errors: api.ErrNotFound (no such network), api.ErrInvalid (default network without a pod
// CIDR), api.ErrFull (no free slice), store errors.
func (a *Agent) NetworkSlice(ctx context.Context, name string) (api.NetworkSlice, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	nw, err := a.network(ctx, name)
	if err != nil {
		return api.NetworkSlice{}, err
	}
	if nw.Name == api.DefaultNetwork && !a.node.PodCIDR.IsValid() {
		return api.NetworkSlice{}, invalid("network %s: this node has no pod CIDR (start the agent with --pod-cidr or --store etcd)", nw.Name)
	}
	p, err := a.addressPool(ctx, nw, netip.Addr{})
	if err != nil {
		return api.NetworkSlice{}, err
	}
	s := api.NetworkSlice{CIDR: p.Pool, Self: true}
	if a.cl != nil {
		s.Node = a.cl.NodeName()
	}
	return s, nil
}
