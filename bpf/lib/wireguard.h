/* Encryption between hosts with WireGuard (issue 9): encapsulate, then encrypt, in Cilium's
 * order (cf. Cilium bpf/lib/wireguard.h): the finished VXLAN-GBP packet for a peer with a key
 * is redirected into the WireGuard device, so the sender's identity crosses encrypted; what the
 * device decrypts comes back at its ingress as a plain L3 VXLAN packet. Encryption is on when
 * node_params.wg_ifindex is nonzero. */
#pragma once

#include "maps.h"
#include "metrics.h"
#include "eth.h"
#include "trust.h"

/* How VXLAN to host remote leaves: 1 through the WireGuard device, 0 in clear on the underlay
 * (encryption off, or an explicit plain VXLAN peer), or -METRIC_DROP_NO_KEY when encryption is
 * on and the peer has no key yet: nothing is ever sent in clear by mistake. */
static __always_inline int wg_encap_mode(const struct node_params *cfg, __be32 remote)
{
	const struct peer_info *p;

	if (!cfg->wg_ifindex)
		return 0;
	p = peer_lookup(remote);
	if (p && (p->flags & PEER_F_ENCRYPT))
		return 1;
	if (p && (p->flags & PEER_F_PLAIN_VXLAN))
		return 0;
	return -METRIC_DROP_NO_KEY;
}

/* Nonzero when plaintext VXLAN from cluster host peer is refused: encryption is on and the
 * host has a key, so everything it sends must come through the WireGuard device (a forged or
 * downgraded packet on the underlay is dropped as drop_unencrypted). */
static __always_inline int wg_plaintext_refused(const struct node_params *cfg,
						const struct peer_info *peer)
{
	return cfg->wg_ifindex && (peer->flags & PEER_F_ENCRYPT);
}

/* Give an IPv4 packet from the WireGuard device (an L3 device: no MAC header) an Ethernet
 * header, so the underlay's VXLAN code parses and decapsulates it unchanged. bpf_skb_change_head
 * also resets the MAC header length to ETH_HLEN, which BPF_ADJ_ROOM_MAC relies on. Returns 0, or
 * -METRIC_DROP_INVALID for a non-IPv4 packet or a failed helper. */
static __always_inline int wg_push_l2(struct __sk_buff *skb)
{
	struct ethhdr eth = { .h_proto = bpf_htons(ETH_P_IP) };

	if (skb->protocol != bpf_htons(ETH_P_IP) || bpf_skb_change_head(skb, ETH_HLEN, 0) ||
	    bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0))
		return -METRIC_DROP_INVALID;
	return 0;
}
