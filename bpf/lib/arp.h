/* ARP responder: containers resolve the gateway and every cluster IP to the router MAC, so
 * all their IPv4 traffic reaches our program (Cilium bpf/lib/arp.h, Rancher's arp_proxy.go). */
#pragma once

#include "metrics.h"
#include "eth.h"

/* Constants and fixed header of RFC 826 ARP; <linux/if_arp.h> drags in libc headers that the
 * BPF target cannot build. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arphdr {
	__be16 ar_hrd;
	__be16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__be16 ar_op;
};

/* Ethernet/IPv4 ARP payload after struct arphdr (RFC 826). */
struct arp_eth_body {
	__u8 sha[ETH_ALEN];
	__be32 sip;
	__u8 tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

/* Turn an ARP request for a cluster IP into a reply from the router MAC and send it back out
 * of the interface it came from; anything else goes to the host stack. Returns a verdict, or
 * -METRIC_DROP_INVALID for a truncated ARP packet. */
static __always_inline int arp_respond(struct __sk_buff *skb, const struct node_params *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct arphdr *arp = (void *)(eth + 1);
	struct arp_eth_body *body = (void *)(arp + 1);
	__be32 sip, tip;

	if (!PKT_HAS(body, sizeof(*body), end))
		return -METRIC_DROP_INVALID;
	if (arp->ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->ar_hln != ETH_ALEN || arp->ar_pln != 4 || arp->ar_op != bpf_htons(ARPOP_REQUEST))
		goto to_host;
	sip = body->sip;
	tip = body->tip;
	/* Duplicate-address probes (sender 0) and gratuitous ARP (target = sender) get no answer. */
	if (sip == 0 || tip == sip || !in_cluster(cfg, tip))
		goto to_host;

	arp->ar_op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(body->tha, body->sha, ETH_ALEN);
	__builtin_memcpy(body->sha, cfg->router_mac, ETH_ALEN);
	body->tip = sip;
	body->sip = tip;
	eth_rewrite(eth, cfg->router_mac, body->tha);
	metric_add(METRIC_ARP_REPLY, skb->len);
	return bpf_redirect(skb->ifindex, 0);

to_host:
	metric_add(METRIC_TO_HOST, skb->len);
	return TC_ACT_OK;
}
