/* Trusted overlay (issue 9): only cluster hosts speak VXLAN to us, a host speaks only for its
 * own containers, and containers cannot hand-craft tunnel packets to cluster hosts. Cilium
 * closed the same hole by dropping pod traffic to the tunnel port (cilium/cilium#8434). */
#pragma once

#include "maps.h"
#include "ipv4.h"

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
