/* Native routing (issue 14, `network create --mode native`): a native network's packets cross
 * between hosts on one L2 segment without encapsulation, as Calico's and Flannel's host-gw
 * modes route them. The next hop is the destination's peer host (the ipcache's tunnel
 * endpoint), which must be on-link on the underlay: the sender routes to it with
 * bpf_fib_lookup + bpf_redirect_neigh, and the receiver accepts a packet only from the peer
 * host that owns its source (the same fib lookup must lead back out of the arrival device to
 * that peer, and to the frame's source MAC once the neighbour is known). */
#pragma once

#include "maps.h"
#include "metrics.h"
#include "fib.h"
#include "ipv4.h"
#include "trust.h"
#include "wireguard.h"
#include "network.h"

/* The id of the native network that holds ip (network order), 0 when ip is in none (the
 * default network is never native). */
static __always_inline int native_network(const struct node_params *cfg, __be32 ip)
{
	const struct network_info *n;
	int id = network_of(cfg, ip);
	__u32 key = id;

	if (id <= 0)
		return 0;
	n = bpf_map_lookup_elem(&networks, &key);
	if (!n || (n->flags & (NETWORK_F_VALID | NETWORK_F_NATIVE)) != (NETWORK_F_VALID | NETWORK_F_NATIVE))
		return 0;
	return id;
}

/* Resolve the underlay next hop to the peer host peer and require it on-link (the fib's
 * next hop is peer itself, no gateway, on the underlay device): fib_next_hop's code, or
 * -drop_no_route for a peer that is off-link or this host. */
static __always_inline int native_next_hop(struct __sk_buff *skb, const struct node_params *cfg,
					   __be32 peer, __u16 tot_len, struct bpf_fib_lookup *fib)
{
	int rc = fib_next_hop(skb, cfg, cfg->underlay_ip, peer, tot_len, fib);

	if (rc < 0)
		return rc;
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED || fib->ifindex != cfg->underlay_ifindex ||
	    fib->ipv4_dst != peer)
		return -METRIC_DROP_NO_ROUTE;
	return rc;
}

/* from_container's route for a container packet to daddr on the peer host peer: when daddr
 * is in a native network, TTL-1, the underlay's and the peer's MACs, and out of the underlay
 * (bpf_redirect_neigh while the peer's neighbour entry is unknown), counted forward_native;
 * NOT_MINE for any other network, and with encryption on (a native network created by a
 * node without it then crosses in VXLAN through WireGuard, never in clear). A subprogram,
 * off from_container's stack. */
static __noinline int native_forward(struct __sk_buff *skb, const struct node_params *cfg,
				     __be32 daddr, __be32 peer)
{
	struct bpf_fib_lookup fib;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *end;
	int rc;

	if (cfg->wg_ifindex || !native_network(cfg, daddr))
		return NOT_MINE;
	rc = native_next_hop(skb, cfg, peer, skb->len - ETH_HLEN, &fib);
	if (rc < 0)
		return rc;
	eth = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	ip = (void *)(eth + 1);
	if (!PKT_HAS(ip, sizeof(*ip), end))
		return -METRIC_DROP_INVALID;
	if (ip->ttl <= 1)
		return -METRIC_DROP_TTL_EXCEEDED;
	ipv4_dec_ttl(ip);
	eth_rewrite(eth, fib.smac, fib.dmac);
	metric_add(METRIC_FWD_NATIVE, skb->len);
	return fib_redirect(&fib, rc);
}

/* True when the MAC addresses a and b are equal (byte loads: fib's dmac is not 4-aligned,
 * and BPF has no memcmp). */
static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	int diff = 0;

#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

/* from_overlay's check of a plain IPv4 packet from the underlay: NOT_MINE when it is no IPv4
 * or its destination is in no native network; else 0 with the source's ipcache identity in
 * *identity and its destination in *daddr (network order) when the source is in the
 * destination's network (else -drop_cross_network) and owned by a cluster host (its ipcache
 * entry names a peers host) that is on-link on the arrival device and, once its neighbour
 * entry is known, has the frame's source MAC (else -drop_spoofed_source), and not from a host
 * whose traffic is encrypted (-drop_unencrypted). A subprogram. */
static __noinline int native_source(struct __sk_buff *skb, const struct node_params *cfg,
				    __be32 *daddr, __u32 *identity)
{
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = (void *)(long)skb->data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ipcache_key k = { .prefixlen = 32 };
	const struct ipcache_info *src;
	const struct peer_info *host;
	struct bpf_fib_lookup fib;
	__u8 smac[ETH_ALEN];
	__be32 peer;
	int net, rc;

	if (!PKT_HAS(ip, sizeof(*ip), end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return NOT_MINE;
	__builtin_memcpy(smac, eth->h_source, ETH_ALEN);
	k.ip = ip->saddr;
	*daddr = ip->daddr;
	net = native_network(cfg, *daddr);
	if (!net)
		return NOT_MINE;
	if (network_of(cfg, k.ip) != net)
		return -METRIC_DROP_CROSS_NETWORK;
	src = bpf_map_lookup_elem(&ipcache, &k);
	host = src ? peer_lookup(src->tunnel_endpoint) : NULL;
	if (!host)
		return -METRIC_DROP_SPOOFED_SOURCE;
	if (wg_plaintext_refused(cfg, host))
		return -METRIC_DROP_UNENCRYPTED;
	peer = src->tunnel_endpoint;
	*identity = src->identity;
	rc = native_next_hop(skb, cfg, peer, 0, &fib);
	if (rc < 0 || fib.ifindex != skb->ifindex)
		return -METRIC_DROP_SPOOFED_SOURCE;
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && !mac_equal(fib.dmac, smac))
		return -METRIC_DROP_SPOOFED_SOURCE;
	return 0;
}
