//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/* ebpfnet datapath: one program per attach point (cf. Cilium's bpf_lxc.c and bpf_overlay.c).
 *   from_container: tcx ingress of each container's host-side veth.
 *   from_overlay:   tcx ingress of the underlay device (VXLAN decapsulation, native
 *                   networks' routed packets, NAT replies, published ports).
 *   from_host:      tcx ingress of loopback: the host's own connections to published ports
 *                   and routing-mesh ports.
 *   from_wireguard: tcx ingress of the WireGuard device: decrypted VXLAN, decapsulated as on
 *                   the underlay.
 *   xdp_underlay:   XDP on the underlay device: prefilter and early drops (lib/xdp.h).
 * Return convention (Cilium's): every stage returns a tc verdict or a negative drop reason
 * (-enum metric), stages that may leave a packet to the next one NOT_MINE; the entry points
 * alone turn a drop reason into a counted, reported drop (verdict() in lib/metrics.h). Policy
 * drops, which carry rule and identities, are reported where they are decided (policy_drop). */

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/eth.h"
#include "lib/ipv4.h"
#include "lib/arp.h"
#include "lib/fib.h"
#include "lib/vxlan.h"
#include "lib/nat.h"
#include "lib/lb.h"
#include "lib/lb_mesh.h"
#include "lib/policy.h"
#include "lib/native.h"
#include "lib/trust.h"
#include "lib/network.h"
#include "lib/prefilter.h"
#include "lib/xdp.h"

char __license[] SEC("license") = "GPL";

/* Deliver skb to a local endpoint's eth0 from the ingress path: router MACs, then straight into
 * the peer veth's ingress (bpf_redirect_peer), skipping the host's backlog queue. */
static __always_inline int deliver_local(struct __sk_buff *skb, const struct node_params *cfg,
					 const struct endpoint_info *ep, enum metric m)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if (!PKT_HAS(eth, sizeof(*eth), end))
		return -METRIC_DROP_INVALID;
	eth_rewrite(eth, cfg->router_mac, ep->mac);
	metric_add(m, skb->len);
	return bpf_redirect_peer(ep->ifindex, 0);
}

/* Deliver to the local endpoint that owns daddr (after NAT). */
static __always_inline int deliver_to(struct __sk_buff *skb, const struct node_params *cfg,
				      __be32 daddr, enum metric m)
{
	struct endpoint_key k = { .ip = daddr };
	struct endpoint_info *ep = bpf_map_lookup_elem(&endpoints, &k);

	if (!ep)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	return deliver_local(skb, cfg, ep, m);
}

/* Route a translated packet from saddr to a destination outside the cluster through the
 * underlay next hop, as a router does (TTL-1, new MACs). */
static __always_inline int route_out(struct __sk_buff *skb, const struct node_params *cfg,
				     __be32 saddr, __be32 daddr, enum metric m)
{
	struct bpf_fib_lookup fib;
	void *data, *end;
	struct ethhdr *eth;
	struct iphdr *ip;
	int rc = fib_next_hop(skb, cfg, saddr, daddr, skb->len - ETH_HLEN, &fib);

	if (rc < 0)
		return rc;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	if (!PKT_HAS(ip, sizeof(*ip), end))
		return -METRIC_DROP_INVALID;
	metric_add(m, skb->len);
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return to_local_stack(skb, eth);
	if (ip->ttl <= 1)
		return -METRIC_DROP_TTL_EXCEEDED;
	ipv4_dec_ttl(ip);
	eth_rewrite(eth, fib.smac, fib.dmac);
	return fib_redirect(&fib, rc);
}

/* Ingress policy of a connection from saddr (before translation) that reaches the endpoint
 * ep at tip through a published port, as Kubernetes and Cilium apply it to hostPort traffic:
 * decided when the source's identity is known (a local endpoint; an ipcache entry: a remote
 * endpoint, or remote-node for a peer host, whose containers' traffic it masquerades); not for
 * sources outside the cluster nor the endpoint's own hairpin. Returns as policy_enforce. */
static __always_inline int published_policy(struct __sk_buff *skb, const struct node_params *cfg,
					    __be32 saddr, __be32 tip, const struct endpoint_info *ep)
{
	struct endpoint_key k = { .ip = saddr };
	struct endpoint_info *src = bpf_map_lookup_elem(&endpoints, &k);
	__u32 id = src ? src->identity : ipcache_identity(saddr);

	if (!id || saddr == tip)
		return TC_ACT_OK;
	return policy_enforce(skb, cfg, id, ep->identity, 1);
}

/* A connection to a published port (f parsed from skb): translate it to the container and
 * deliver it there, ingress policy permitting. Returns a verdict, a negative drop reason, or
 * NOT_MINE when f's destination is not published. */
static __always_inline int to_published(struct __sk_buff *skb, const struct node_params *cfg,
					const struct flow *f)
{
	struct endpoint_info *ep;
	struct endpoint_key k;
	struct port_target *t;
	int rc;

	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)
		return NOT_MINE;
	t = published_lookup(skb, cfg, f->daddr, f->dport, f->proto);
	if (!t)
		return NOT_MINE;
	k.ip = t->ip;
	rc = dnat(skb, cfg, f, t, f->sport);
	if (rc < 0)
		return rc;
	ep = bpf_map_lookup_elem(&endpoints, &k);
	if (!ep)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	rc = published_policy(skb, cfg, f->saddr, k.ip, ep);
	if (rc != TC_ACT_OK)
		return rc;
	return deliver_local(skb, cfg, ep, METRIC_FWD_DNAT);
}

/* A container's packet to a destination outside the cluster: a published port of this host
 * (hairpin), the host itself, or masquerade and route out (hostNat). */
static __always_inline int to_outside(struct __sk_buff *skb, const struct node_params *cfg,
				      __u16 ep_flags)
{
	struct flow f = {};
	int rc;

	if (flow_parse(skb, &f)) {
		rc = to_published(skb, cfg, &f);
		if (rc != NOT_MINE)
			return rc;
	}
	if (snat_wanted(cfg, &f, ep_flags)) {
		rc = snat_egress(skb, cfg, &f);
		if (rc < 0)
			return rc;
		return route_out(skb, cfg, cfg->underlay_ip, f.daddr, METRIC_FWD_SNAT);
	}
	metric_add(METRIC_TO_HOST, skb->len);
	return TC_ACT_OK;
}

/* A reply from a published container: restore hostIP:hostPort as source and send it to the
 * client (a local container for hairpin, else out of the underlay). Returns a verdict, a
 * negative drop reason, or NOT_MINE when the packet is no such reply. */
static __always_inline int from_published(struct __sk_buff *skb, const struct node_params *cfg)
{
	struct flow f;
	__be32 client;
	int rc;

	if (!flow_parse(skb, &f))
		return NOT_MINE;
	rc = dnat_reply(skb, &f, &client);
	if (rc <= 0)
		return rc < 0 ? rc : NOT_MINE;
	if (in_cluster(cfg, client))
		return deliver_to(skb, cfg, client, METRIC_FWD_DNAT_REPLY);
	return route_out(skb, cfg, cfg->underlay_ip, client, METRIC_FWD_DNAT_REPLY);
}

/* Forward a container's IPv4 packet within the cluster as a router: TTL-1, then to the local
 * endpoint ep, or (ep NULL) VXLAN with vni to the VTEP remote with identity in GBP (0: none). */
static __always_inline int forward_ipv4(struct __sk_buff *skb, const struct node_params *cfg,
					const struct endpoint_info *ep, __be32 remote, __u32 identity,
					__u32 vni)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;

	if (!PKT_HAS(ip, sizeof(*ip), end))
		return -METRIC_DROP_INVALID;
	if (ip->ttl <= 1)
		return -METRIC_DROP_TTL_EXCEEDED;
	ipv4_dec_ttl(ip);
	if (ep)
		return deliver_local(skb, cfg, ep, METRIC_FWD_LOCAL);
	return vxlan_encap(skb, cfg, remote, identity, vni);
}

/* Route an IPv4 packet sent by a container: local endpoint, peer host, or outside. */
static __always_inline int from_container_ipv4(struct __sk_buff *skb, const struct node_params *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct endpoint_key src, dst;
	struct endpoint_info *sep, *dep;
	struct ipcache_key ck = { .prefixlen = 32 };
	struct ipcache_info *remote;
	__u32 identity;
	__u16 flags;
	int rc, vni;

	if (!PKT_HAS(ip, sizeof(*ip), end) || ip->ihl < 5)
		return -METRIC_DROP_INVALID;

	/* A container may only send from the address it owns (anti-spoofing). */
	src.ip = ip->saddr;
	dst.ip = ip->daddr;
	sep = bpf_map_lookup_elem(&endpoints, &src);
	if (!sep || sep->ifindex != skb->ifindex)
		return -METRIC_DROP_SPOOFED_SOURCE;
	flags = sep->flags;
	if (!in_cluster(cfg, dst.ip) && tunnel_from_container(skb, cfg, ip))
		return -METRIC_DROP_TUNNEL_FROM_CONTAINER;

	if (flags & ENDPOINT_F_PUBLISHED) {
		rc = from_published(skb, cfg);
		if (rc != NOT_MINE)
			return rc;
	}
	if (!in_cluster(cfg, dst.ip)) {
		if (flags & ENDPOINT_F_PUBLISHED) { /* a mesh backend's reply: back to the entry host */
			__be32 via = lb_mesh_return(skb);

			if (via)
				return vxlan_encap(skb, cfg, via, sep->identity, network_vni(cfg, src.ip));
		}
		/* A service VIP: routed on as a packet to the backend it is translated to. */
		rc = lb_service_xlate(skb, cfg, &dst.ip);
		if (rc != NOT_MINE && rc != 0)
			return rc;
	}
	vni = network_egress(cfg, src.ip, dst.ip);
	if (vni < 0)
		return vni;
	if (!vni)
		return to_outside(skb, cfg, flags);

	identity = sep->identity;
	dep = bpf_map_lookup_elem(&endpoints, &dst);
	if (dep) {
		rc = policy_enforce(skb, cfg, identity, dep->identity, 1);
		if (rc != TC_ACT_OK)
			return rc;
		return forward_ipv4(skb, cfg, dep, 0, 0, 0);
	}

	ck.ip = dst.ip;
	remote = bpf_map_lookup_elem(&ipcache, &ck);
	if (!remote)
		return -METRIC_DROP_NO_ROUTE;
	if (!remote->tunnel_endpoint)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	/* Decided here only when the destination's identity is known; else at its host. */
	rc = policy_enforce(skb, cfg, identity, remote->identity,
			    remote->identity >= FIRST_LABEL_IDENTITY);
	if (rc != TC_ACT_OK)
		return rc;
	rc = native_forward(skb, cfg, dst.ip, remote->tunnel_endpoint);
	if (rc != NOT_MINE)
		return rc;
	return forward_ipv4(skb, cfg, NULL, remote->tunnel_endpoint,
			    (remote->flags & IPCACHE_F_PLAIN_VXLAN) ? 0 : identity, vni);
}

SEC("tcx/ingress")
int from_container(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if (!cfg)
		return TC_ACT_OK;
	if (!PKT_HAS(eth, sizeof(*eth), end))
		return verdict(skb, -METRIC_DROP_INVALID);
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return verdict(skb, arp_respond(skb, cfg));
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return verdict(skb, from_container_ipv4(skb, cfg));
	metric_add(METRIC_TO_HOST, skb->len);
	return TC_ACT_OK;
}

/* A connection from outside to a routing-mesh port of this host: translated to its backend
 * (lib/lb_mesh.h), delivered here or encapsulated to the backend's host without identity.
 * Returns as lb_mesh_in. */
static __always_inline int to_mesh(struct __sk_buff *skb, const struct node_params *cfg)
{
	struct ipcache_key ck = { .prefixlen = 32 };
	struct ipcache_info *remote;
	struct endpoint_info *ep;
	struct endpoint_key k;
	int rc = lb_mesh_in(skb, cfg, &k.ip);

	if (rc != 0)
		return rc;
	ep = bpf_map_lookup_elem(&endpoints, &k);
	if (ep)
		return deliver_local(skb, cfg, ep, METRIC_FWD_LOCAL);
	ck.ip = k.ip;
	remote = bpf_map_lookup_elem(&ipcache, &ck);
	if (!remote || !remote->tunnel_endpoint)
		return -METRIC_DROP_NO_ROUTE;
	return vxlan_encap(skb, cfg, remote->tunnel_endpoint, 0, network_vni(cfg, k.ip));
}

/* Non-VXLAN IPv4 from the underlay: replies to masqueraded flows and connections to
 * published ports go to their containers; everything else is the host's. */
static __always_inline int from_outside(struct __sk_buff *skb, const struct node_params *cfg)
{
	struct flow f;
	__be32 to;
	int rc;

	if (!flow_parse(skb, &f))
		return TC_ACT_OK;
	rc = snat_reply(skb, &f, &to);
	if (rc < 0)
		return rc;
	if (rc > 0)
		return deliver_to(skb, cfg, to, METRIC_FWD_SNAT_REPLY);
	rc = to_published(skb, cfg, &f);
	if (rc != NOT_MINE)
		return rc;
	rc = to_mesh(skb, cfg);
	return rc == NOT_MINE ? TC_ACT_OK : rc;
}

/* Deliver a packet from another host (source identity src_id) to the local endpoint ep as
 * policy allows, a service reply translated back to its VIP first, or (mesh_host nonzero) a
 * routing-mesh connection of that peer host itself tracked to go back through it; counted m. */
static __always_inline int deliver_allowed(struct __sk_buff *skb, const struct node_params *cfg,
					   __u32 src_id, const struct endpoint_info *ep, enum metric m,
					   __be32 mesh_host)
{
	int rc = policy_enforce(skb, cfg, src_id, ep->identity, 1);

	if (rc != TC_ACT_OK)
		return rc;
	rc = mesh_host ? lb_mesh_rx_host(skb, mesh_host) : lb_reply(skb);
	if (rc < 0)
		return rc;
	return deliver_local(skb, cfg, ep, m);
}

/* A native network's packet from a peer host on the underlay (lib/native.h): source checks,
 * policy of the source's ipcache identity, delivery. Returns a verdict, a negative drop
 * reason, or NOT_MINE when skb is no IPv4 for a native network's address. */
static __always_inline int native_rx(struct __sk_buff *skb, const struct node_params *cfg)
{
	struct endpoint_info *ep;
	struct endpoint_key dst;
	__u32 src_id = 0;
	int rc = native_source(skb, cfg, &dst.ip, &src_id);

	if (rc)
		return rc;
	ep = bpf_map_lookup_elem(&endpoints, &dst);
	if (!ep)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	return deliver_allowed(skb, cfg, src_id, ep, METRIC_FWD_NATIVE, 0);
}

/* VXLAN addressed to this host, from the underlay (encrypted 0) or decrypted by the
 * WireGuard device (1): checks, decapsulation, policy and delivery, one code for both.
 * VXLAN is decapsulated only from a cluster host (peers map), for an inner source that host
 * owns (ipcache), and a Group Policy ID is taken only from such a host that sends GBP (not a
 * plain VXLAN peer, whose packets are judged by the ipcache identity of their source). With
 * encryption on, a host with a key is heard only through the WireGuard device.
 * Returns a verdict, a negative drop reason, or NOT_MINE when skb is no VXLAN for this host. */
static __always_inline int overlay_rx(struct __sk_buff *skb, const struct node_params *cfg,
				      int encrypted)
{
	const struct peer_info *peer;
	const struct ipcache_info *src;
	struct vxlan_rx rx = {};
	struct endpoint_key dst;
	struct endpoint_info *ep;
	__u32 src_id;
	int rc;

	rc = vxlan_parse(skb, cfg, &rx);
	if (rc <= 0)
		return rc < 0 ? rc : NOT_MINE;
	rc = vxlan_trust(cfg, rx.outer_saddr, rx.vni, &peer);
	if (rc < 0)
		return rc;
	if (!encrypted && wg_plaintext_refused(cfg, peer))
		return vxlan_drop_decapped(skb, METRIC_DROP_UNENCRYPTED);
	rc = network_ingress(cfg, rx.vni, rx.inner_ip->saddr, rx.inner_ip->daddr);
	if (rc == -METRIC_DROP_CROSS_NETWORK)
		return vxlan_drop_decapped(skb, METRIC_DROP_CROSS_NETWORK);
	if (rc < 0)
		return rc;

	src = peer_source_route(rx.outer_saddr, rx.inner_ip->saddr);
	if (!src) { /* only a routing-mesh client's packet for a local backend */
		rc = lb_mesh_rx(skb, cfg, rx.outer_saddr, &dst.ip);
		return rc < 0 ? rc : deliver_to(skb, cfg, dst.ip, METRIC_FWD_DECAP);
	}
	src_id = overlay_src_identity(peer, rx.src_identity, src);
	dst.ip = rx.inner_ip->daddr;
	ep = bpf_map_lookup_elem(&endpoints, &dst);
	if (!ep && in_cluster(cfg, dst.ip) && dst.ip != cfg->gateway_ip)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	if (!ep) { /* a mesh backend's reply to its client outside or this host, via this entry host */
		rc = lb_mesh_reply(skb, &dst.ip);
		return rc < 0 ? rc : route_out(skb, cfg, cfg->underlay_ip, dst.ip, METRIC_FWD_DNAT_REPLY);
	}
	rc = vxlan_decap(skb);
	if (rc < 0)
		return rc;
	/* A peer host's own mesh connection (remote-node) is tracked to go back through it. */
	return deliver_allowed(skb, cfg, src_id, ep, METRIC_FWD_DECAP,
			       src->identity == IDENTITY_REMOTE_NODE ? rx.outer_saddr : 0);
}

SEC("tcx/ingress")
int from_overlay(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	int rc;

	if (!cfg)
		return TC_ACT_OK;
	rc = prefilter_tc(skb);
	if (rc != NOT_MINE)
		return rc;
	rc = overlay_rx(skb, cfg, 0);
	if (rc == NOT_MINE)
		rc = native_rx(skb, cfg);
	if (rc == NOT_MINE)
		rc = from_outside(skb, cfg);
	return verdict(skb, rc);
}

/* Only VXLAN between cluster hosts is routed into the tunnel (AllowedIPs = the peer's underlay
 * /32), so anything else that comes out of it is dropped as invalid. */
SEC("tcx/ingress")
int from_wireguard(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	int rc;

	if (!cfg)
		return TC_ACT_OK;
	rc = wg_push_l2(skb);
	if (rc == 0)
		rc = overlay_rx(skb, cfg, 1);
	return verdict(skb, rc == NOT_MINE ? -METRIC_DROP_INVALID : rc);
}

SEC("tcx/ingress")
int from_host(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	struct flow f;
	int rc;

	if (!cfg || !flow_parse(skb, &f))
		return TC_ACT_OK;
	rc = to_published(skb, cfg, &f);
	if (rc == NOT_MINE)
		rc = to_mesh(skb, cfg);
	return verdict(skb, rc == NOT_MINE ? TC_ACT_OK : rc);
}

/* XDP on the underlay device (lib/xdp.h): early drops, everything else XDP_PASS to
 * from_overlay. Multi-buffer aware (xdp.frags), so attaching it keeps GSO on a veth underlay. */
SEC("xdp.frags")
int xdp_underlay(struct xdp_md *ctx)
{
	const struct node_params *cfg = node_cfg();

	if (!cfg)
		return XDP_PASS;
	return xdp_filter(ctx, cfg);
}
