/* Next-hop resolution on the underlay with bpf_fib_lookup, for encapsulated and routed-out
 * packets. The lookup needs IPv4 forwarding on the underlay device (the agent sets it). */
#pragma once

#include "metrics.h"

/* Resolve the underlay next hop from src to dst. tot_len is the IPv4 length to check against
 * the route MTU, 0 for GSO packets (segments are checked after segmentation; with a nonzero
 * tot_len the helper reports FRAG_NEEDED for every GSO packet). Returns the BPF_FIB_LKUP_RET_*
 * code (SUCCESS, NO_NEIGH, or NOT_FWDED for an address of this host) or a negative drop
 * reason. */
static __always_inline int fib_next_hop(struct __sk_buff *skb, const struct node_params *cfg,
					__be32 src, __be32 dst, __u16 tot_len,
					struct bpf_fib_lookup *fib)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = EBPFNET_AF_INET;
	fib->tot_len = skb->gso_size ? 0 : tot_len;
	fib->ifindex = cfg->underlay_ifindex;
	fib->ipv4_src = src;
	fib->ipv4_dst = dst;
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return -METRIC_DROP_FRAG_NEEDED;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	    rc != BPF_FIB_LKUP_RET_NOT_FWDED)
		return -METRIC_DROP_NO_ROUTE;
	return rc;
}

/* The loopback device's ifindex in every netns (LOOPBACK_IFINDEX, include/net/net_namespace.h). */
#define LOOPBACK_IFINDEX 1

/* Hand a packet for an address of this host to the host stack through loopback ingress, where
 * a local source address is legal (a veth would drop it as martian). lo's MAC is all zeros. */
static __always_inline int to_local_stack(struct __sk_buff *skb, struct ethhdr *eth)
{
	__builtin_memset(eth->h_dest, 0, ETH_ALEN);
	return bpf_redirect(LOOPBACK_IFINDEX, BPF_F_INGRESS);
}

/* Send the packet to the resolved next hop. With SUCCESS the caller has written fib's MACs;
 * with NO_NEIGH the kernel's neighbour code resolves and writes L2. */
static __always_inline int fib_redirect(const struct bpf_fib_lookup *fib, int rc)
{
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {
			.nh_family = EBPFNET_AF_INET,
			.ipv4_nh = fib->ipv4_dst,
		};

		return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
	}
	return bpf_redirect(fib->ifindex, 0);
}
