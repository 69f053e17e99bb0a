package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/api"
)

// Native networks (`network create --mode native`) are routed between hosts without
// encapsulation: the datapath sends a native network's packet straight to the peer host
// that owns its destination (bpf/lib/native.h), which therefore must be on-link on the
// underlay device, as Flannel's host-gw backend and Calico without IP-in-IP require. These
// checks keep that true where the agent can refuse: a native network is not created while a
// known peer host is off-link, and no off-link peer host is added while a native network
// exists. A node that joins through etcd cannot be refused: `ebpfnet status` lists it under
// OffLinkPeers, and the datapath drops native packets to it (drop_no_route).

// peerOnLink returns nil when host (IPv4) is reached from this node directly on the underlay
// device, without a gateway (the kernel's route lookup, as `ip route get`); else an error
// naming the route it has.
func (a *Agent) peerOnLink(host netip.Addr) error {
	ul, err := netlink.LinkByName(a.cfg.UnderlayDev)
	if err != nil {
		return fmt.Errorf("underlay device %s: %w", a.cfg.UnderlayDev, err)
	}
	routes, err := netlink.RouteGet(host.AsSlice())
	switch {
	case err != nil || len(routes) == 0:
		return fmt.Errorf("peer host %s has no route on this node (%v)", host, err)
	case routes[0].Gw != nil:
		return fmt.Errorf("peer host %s is not on-link: routed via gateway %s", host, routes[0].Gw)
	case routes[0].LinkIndex != ul.Attrs().Index:
		return fmt.Errorf("peer host %s is not on-link on %s: routed out of another device (ifindex %d)", host, a.cfg.UnderlayDev, routes[0].LinkIndex)
	}
	return nil
}

// peerHosts is the sorted, distinct underlay addresses of the known peer hosts (`peer add`
// hosts, and with etcd every other live node).
func (a *Agent) peerHosts(ctx context.Context) ([]netip.Addr, error) {
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	hosts := make([]netip.Addr, 0, len(peers))
	for _, p := range peers {
		hosts = append(hosts, p.HostIP)
	}
	slices.SortFunc(hosts, netip.Addr.Compare)
	return slices.Compact(hosts), nil
}

// checkNativeNetwork refuses to create the native network n while a known peer host is not
// on-link on the underlay (api.ErrConflict, naming the host) or when the node encrypts its
// traffic (api.ErrUnsupported: native packets would cross the underlay in clear).
func (a *Agent) checkNativeNetwork(ctx context.Context, n api.Network) error {
	if n.Mode != api.NetworkModeNative {
		return nil
	}
	if a.cfg.Encryption == EncryptionWireGuard {
		return api.Errorf(api.ErrUnsupported, "network %s: --mode native is not encrypted, and this node runs --encryption wireguard", n.Name)
	}
	hosts, err := a.peerHosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if err := a.peerOnLink(h); err != nil {
			return conflict("network %s: --mode native needs every peer host on the underlay's L2 segment: %v", n.Name, err)
		}
	}
	return nil
}

// checkNativePeer refuses (api.ErrConflict) the peer host host when it is not on-link and
// one of the networks nets is native.
func (a *Agent) checkNativePeer(host netip.Addr, nets []api.Network) error {
	i := slices.IndexFunc(nets, func(n api.Network) bool { return n.Mode == api.NetworkModeNative })
	if i < 0 {
		return nil
	}
	if err := a.peerOnLink(host); err != nil {
		return conflict("%v; native network %s routes to every peer host without encapsulation", err, nets[i].Name)
	}
	return nil
}

// offLinkPeers lists the known peer hosts that are not on-link while a native network exists
// (a node that joined through etcd cannot be refused), each with the reason; nil otherwise.
func (a *Agent) offLinkPeers(ctx context.Context) ([]string, error) {
	nets, err := a.networks(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(nets, func(n api.Network) bool { return n.Mode == api.NetworkModeNative }) {
		return nil, nil
	}
	hosts, err := a.peerHosts(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range hosts {
		if err := a.peerOnLink(h); err != nil {
			out = append(out, err.Error())
		}
	}
	return out, nil
}
