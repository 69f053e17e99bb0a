/* Network isolation rules (issue 14): the sender never forwards between networks and
 * encapsulates with the destination network's VNI; the receiver accepts only a known VNI
 * whose network holds both inner addresses. Maps in network_maps.h. */
#pragma once

#include "maps.h"
#include "metrics.h"

/* The network id of ip (network order): 0 in the cluster CIDR, else its network_subnets
 * entry; -1 outside every network. */
static __always_inline int network_of(const struct node_params *cfg, __be32 ip)
{
	if ((ip & cfg->cluster_mask) == cfg->cluster_ip)
		return 0;
	return network_subnet_id(ip);
}

/* The VNI of the network that holds ip (network order): node_config's for the default one,
 * 0 when ip is in no network (the routing mesh's tunnel carries its backend's VNI). */
static __always_inline __u32 network_vni(const struct node_params *cfg, __be32 ip)
{
	int id = network_of(cfg, ip);
	const struct network_info *n;
	__u32 key = id;

	if (id <= 0)
		return id == 0 ? cfg->vni : 0;
	n = bpf_map_lookup_elem(&networks, &key);
	return n && (n->flags & NETWORK_F_VALID) ? n->vni : 0;
}

/* from_container's rule for a packet saddr -> daddr: the VNI to forward it with when daddr is
 * in saddr's network; 0 when daddr is outside every network (the host, masquerade); else
 * -drop_cross_network, or -drop_internal_network for an --internal network's endpoint
 * sending outside it. A subprogram, off from_container's stack. */
static __noinline int network_egress(const struct node_params *cfg, __be32 saddr, __be32 daddr)
{
	int src = network_of(cfg, saddr), dst = network_of(cfg, daddr);
	const struct network_info *n;
	__u32 id = src;

	if (src == 0 && dst <= 0)
		return dst == 0 ? (int)cfg->vni : 0;
	if (src < 0)
		return -METRIC_DROP_CROSS_NETWORK;
	if (dst >= 0 && dst != src)
		return -METRIC_DROP_CROSS_NETWORK;
	n = bpf_map_lookup_elem(&networks, &id);
	if (!n || !(n->flags & NETWORK_F_VALID))
		return -METRIC_DROP_CROSS_NETWORK;
	if (dst < 0)
		return (n->flags & NETWORK_F_INTERNAL) ? -METRIC_DROP_INTERNAL_NETWORK : 0;
	return n->vni;
}

/* overlay_rx's rule for VXLAN with vni carrying saddr -> daddr (network order): vni must name
 * a network (node_config's for the default one, else network_vnis), else -drop_bad_vni; an
 * address in another network is -drop_cross_network (one in no network is left to the
 * source-route and endpoint checks that follow); else 0. A subprogram. */
static __noinline int network_ingress(const struct node_params *cfg, __u32 vni, __be32 saddr,
				      __be32 daddr)
{
	struct network_vni_key k = { .vni = vni };
	const struct network_ref *r;
	int net = 0, src, dst;

	if (vni != cfg->vni) {
		r = bpf_map_lookup_elem(&network_vnis, &k);
		if (!r)
			return -METRIC_DROP_BAD_VNI;
		net = r->id;
	}
	src = network_of(cfg, saddr);
	dst = network_of(cfg, daddr);
	if ((src >= 0 && src != net) || (dst >= 0 && dst != net))
		return -METRIC_DROP_CROSS_NETWORK;
	return 0;
}
