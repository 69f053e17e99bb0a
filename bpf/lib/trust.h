/* Trusted overlay (issue 9): only cluster hosts speak VXLAN to us, a host speaks only for its
 * own containers, and containers cannot hand-craft tunnel packets to cluster hosts. Cilium
 * closed the same hole by dropping pod traffic to the tunnel port (cilium/cilium#8434). */
#pragma once

#include "maps.h"
#include "ipv4.h"
#include "metrics.h"

/* The peers entry of a cluster host's underlay IPv4 (network order), NULL for any other. */
static __always_inline const struct peer_info *peer_lookup(__be32 ip)
{
	struct peer_key k = { .ip = ip };
	const struct peer_info *p = bpf_map_lookup_elem(&peers, &k);

	return p && (p->flags & PEER_F_VALID) ? p : NULL;
}

/* The ipcache entry of the inner source inner when it names the VXLAN outer source outer
 * (network order) as tunnel endpoint, else NULL: a host may only speak for its own
 * containers, and our own pod CIDR (tunnel_endpoint 0) never matches. */
static __always_inline const struct ipcache_info *peer_source_route(__be32 outer, __be32 inner)
{
	struct ipcache_key k = { .prefixlen = 32, .ip = inner };
	const struct ipcache_info *v = bpf_map_lookup_elem(&ipcache, &k);

	return v && v->tunnel_endpoint == outer ? v : NULL;
}

/* Whether a VXLAN packet's VNI names a network: node_config's (the default one) or one in
 * network_vnis. The one place the VNI is judged for trust (network_ingress maps it to its
 * network). */
static __always_inline int vxlan_vni_ok(const struct node_params *cfg, __u32 vni)
{
	struct network_vni_key k = { .vni = vni };

	return vni == cfg->vni || bpf_map_lookup_elem(&network_vnis, &k);
}

/* The trust decision on VXLAN from outer source outer (network order) with VNI vni, context-free
 * (from_overlay and the XDP program both call it): 0 and *peer = the sending cluster host, or
 * -METRIC_DROP_UNKNOWN_PEER (no cluster host) or -METRIC_DROP_BAD_VNI. */
static __always_inline int vxlan_trust(const struct node_params *cfg, __be32 outer, __u32 vni,
				       const struct peer_info **peer)
{
	*peer = peer_lookup(outer);
	if (!*peer)
		return -METRIC_DROP_UNKNOWN_PEER;
	if (!vxlan_vni_ok(cfg, vni))
		return -METRIC_DROP_BAD_VNI;
	return 0;
}

/* The identity policy judges a decapsulated packet by: the Group Policy ID gbp (0: none) from a
 * host that sends GBP, else the ipcache identity of the inner source src (peer_source_route). */
static __always_inline __u32 overlay_src_identity(const struct peer_info *peer, __u32 gbp,
						  const struct ipcache_info *src)
{
	return gbp && !(peer->flags & PEER_F_PLAIN_VXLAN) ? gbp : src->identity;
}

/* True when the container packet in skb, IPv4 header ip (at ETH_HLEN, destination outside
 * the cluster), is UDP to a cluster host (a peer or this host) on the VXLAN or the WireGuard
 * port: a hand-made tunnel packet would be masqueraded to this host's address and pass the
 * receiver's outer-source check. Non-first fragments carry no ports and cannot be
 * reassembled without the first, which this catches. */
static __always_inline int tunnel_from_container(struct __sk_buff *skb, const struct node_params *cfg,
						 const struct iphdr *ip)
{
	__be16 dport;

	if (ip->protocol != IPPROTO_UDP || ipv4_later_fragment(ip->frag_off))
		return 0;
	if (bpf_skb_load_bytes(skb, l4_off(ip->ihl) + __builtin_offsetof(struct udphdr, dest), &dport,
			       sizeof(dport)))
		return 0;
	if (dport != bpf_htons(VXLAN_PORT) && (!cfg->wg_port || dport != cfg->wg_port))
		return 0;
	return ip->daddr == cfg->underlay_ip || peer_lookup(ip->daddr);
}
