package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/store"
)

// IdentityCluster is the reserved identity of cluster addresses whose endpoint identity is not
// known on this host (a peer's whole pod CIDR).
const IdentityCluster = maps.IdentityCluster

// IdentityRemoteNode is the reserved identity of peer hosts' underlay addresses (Cilium's
// reserved:remote-node): the source of their containers' masqueraded connections to this
// host's published ports. Policy names it with the label ReservedLabel=remote-node.
const IdentityRemoteNode = maps.IdentityRemoteNode

// ReservedLabel is the label key of reserved identities in policy selectors
// ("io.ebpfnet.reserved=remote-node"); endpoints may not carry it.
const ReservedLabel = "io.ebpfnet.reserved"

// AddPeer routes a pod CIDR (of the cluster CIDR or of a network's subnet) to a peer host and
// trusts the host's VXLAN (peers map). Refuses malformed input, CIDRs outside every network,
// this node's own pod CIDR, slices of networks or underlay IP, host addresses that no host can have (see
// checkPeerHost), any overlap with an existing peer, a WireGuard key other than the one the
// host already has (none given: the host's), and a host that is not on-link while a native
// network exists (native.go).
func (a *Agent) AddPeer(ctx context.Context, req api.PeerRequest) (api.Peer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cidr, err := parseCIDR("peer CIDR", req.CIDR)
	if err != nil {
		return api.Peer{}, err
	}
	host, err := parseIPv4("peer host IP", req.HostIP)
	if err != nil {
		return api.Peer{}, err
	}
	if err := checkPeerHost(host, a.node.Cluster); err != nil {
		return api.Peer{}, err
	}
	wgKey, err := parsePeerKey(req.WGPublicKey)
	if err != nil {
		return api.Peer{}, err
	}
	nets, err := a.networks(ctx)
	if err != nil {
		return api.Peer{}, err
	}
	switch {
	case !slices.ContainsFunc(nets, func(n api.Network) bool { return n.Subnet.Contains(cidr.Addr()) && cidr.Bits() >= n.Subnet.Bits() }):
		return api.Peer{}, invalid("peer CIDR %s is outside the cluster CIDR %s and every network's subnet", cidr, a.node.Cluster)
	case a.node.PodCIDR.IsValid() && a.node.PodCIDR.Overlaps(cidr):
		return api.Peer{}, conflict("peer CIDR %s overlaps this node's pod CIDR %s", cidr, a.node.PodCIDR)
	case host == a.node.UnderlayIP:
		return api.Peer{}, invalid("peer host IP %s is this node's own underlay IP", host)
	}
	own, err := a.ownSliceRoutes(ctx, nets)
	if err != nil {
		return api.Peer{}, err
	}
	for _, p := range own {
		if p.Overlaps(cidr) {
			return api.Peer{}, conflict("peer CIDR %s overlaps this node's slice %s of a network", cidr, p)
		}
	}
	if err := a.checkNativePeer(host, nets); err != nil {
		return api.Peer{}, err
	}
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return api.Peer{}, err
	}
	for _, p := range peers {
		if p.CIDR.Overlaps(cidr) {
			return api.Peer{}, conflict("peer CIDR %s overlaps existing peer %s (via %s)", cidr, p.CIDR, p.HostIP)
		}
		if p.HostIP == host && p.WGPublicKey != wgKey && req.WGPublicKey == "" {
			wgKey = p.WGPublicKey // a further CIDR of a known host (e.g. another network's)
		} else if p.HostIP == host && p.WGPublicKey != wgKey {
			return api.Peer{}, conflict("peer host %s already has WireGuard key %q (peer %s), not %q", host, p.WGPublicKey, p.CIDR, wgKey)
		}
	}
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return api.Peer{}, err
	}
	for _, e := range eps {
		if cidr.Contains(e.IP) {
			return api.Peer{}, conflict("peer CIDR %s contains local endpoint %s (%s)", cidr, e.Name, e.IP)
		}
	}
	p := api.Peer{CIDR: cidr, HostIP: host, PlainVXLAN: req.PlainVXLAN, WGPublicKey: wgKey}
	err = a.dmaps.ipcache.Put(peerRoute(p))
	if errors.Is(err, maps.ErrFull) {
		return api.Peer{}, full("cannot add peer %s: %v", cidr, err)
	}
	if err != nil {
		return api.Peer{}, err
	}
	if err := a.store.PutPeer(ctx, p); err != nil {
		_ = a.dmaps.ipcache.Delete(cidr)
		return api.Peer{}, fmt.Errorf("store peer %s: %w", cidr, err)
	}
	if err := a.reconcilePeerHosts(ctx); err != nil {
		return api.Peer{}, err
	}
	a.log.Info("peer added", "cidr", cidr, "host", host)
	// The host's remote-node entry by the same mark and sweep as a restart (the next resync or
	// restart retries it).
	if err := a.reconcileIPCache(ctx); err != nil {
		a.log.Warn("ipcache after peer add", "err", err)
	}
	return p, nil
}

// remoteNodeRoute is the /32 ipcache entry of peer p's underlay address, identity remote-node
// (looked up only for sources of published-port connections; outside the cluster CIDR it is
// never a route).
func remoteNodeRoute(p api.Peer) maps.Route {
	return maps.Route{Prefix: netip.PrefixFrom(p.HostIP, 32), TunnelEndpoint: p.HostIP, Identity: IdentityRemoteNode, PlainVXLAN: p.PlainVXLAN}
}

// peerRoute is the ipcache entry of peer p.
func peerRoute(p api.Peer) maps.Route {
	return maps.Route{Prefix: p.CIDR, TunnelEndpoint: p.HostIP, Identity: IdentityCluster, PlainVXLAN: p.PlainVXLAN}
}

// DeletePeer removes the peer route for the exact CIDR.
func (a *Agent) DeletePeer(ctx context.Context, cidrText string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cidr, err := parseCIDR("peer CIDR", cidrText)
	if err != nil {
		return err
	}
	if err := a.store.DeletePeer(ctx, cidr); errors.Is(err, store.ErrNotFound) {
		return notFound("peer %s: %v", cidr, store.ErrNotFound)
	} else if err != nil {
		return err
	}
	if err := a.dmaps.ipcache.Delete(cidr); err != nil && !errors.Is(err, maps.ErrNotFound) {
		return err
	}
	if err := a.reconcilePeerHosts(ctx); err != nil {
		return err
	}
	a.log.Info("peer deleted", "cidr", cidr)
	return a.reconcileIPCache(ctx) // its host's remote-node entry, unless another peer shares it
}

// reconcilePeerHosts makes the peers map (the cluster hosts whose VXLAN is decapsulated) hold
// exactly the hosts of the stored peers: `peer add` hosts and, with etcd, every other live
// node. Mark and sweep, never a flush. With encryption, hosts with a key are set up as
// WireGuard peers and flagged PEER_F_ENCRYPT. A host is plain VXLAN when any of its peer CIDRs was
// added with --plain-vxlan (a kernel VXLAN device sends no GBP for any of them). a.mu is held.
func (a *Agent) reconcilePeerHosts(ctx context.Context) error {
	peers, err := a.store.Peers(ctx)
	if err != nil {
		return err
	}
	encrypted, err := a.syncWireGuard(peers) // the device first: it must know a peer before packets for it arrive
	if err != nil {
		return err
	}
	want := make(map[netip.Addr]maps.Peer, len(peers))
	for _, p := range peers {
		h := want[p.HostIP]
		h.IP, h.PlainVXLAN, h.Encrypt = p.HostIP, h.PlainVXLAN || p.PlainVXLAN, encrypted[p.HostIP]
		want[p.HostIP] = h
	}
	have, err := a.maps.Peers.List()
	if err != nil {
		return err
	}
	for _, h := range have {
		if _, ok := want[h.IP]; !ok {
			if err := a.maps.Peers.Delete(h.IP); err != nil && !errors.Is(err, maps.ErrNotFound) {
				return err
			}
			a.log.Info("peer host removed", "host", h.IP)
		}
	}
	for _, h := range want {
		if err := a.maps.Peers.Put(h); err != nil {
			return err
		}
	}
	return nil
}

// Peers lists the stored peers.
func (a *Agent) Peers(ctx context.Context) ([]api.Peer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.store.Peers(ctx)
}
