/* Prefilter (cf. Cilium's bpf_xdp.c CIDR deny list): packets from denied IPv4 source prefixes
 * are dropped on the underlay before anything else looks at them, at XDP, or in from_overlay
 * when XDP is off. The list lives in two LPM tries, one in force (prefilter_state.active) and
 * one spare: `prefilter apply` fills the spare and flips the index in one array write, so a
 * blocklist feed replaces the list atomically; add/del edit the trie in force. */
#pragma once

#include "metrics.h"
#include "event_budget.h"

/* Prefixes each trie holds (a blocklist feed of 100,000 prefixes fits with headroom). A map
 * size: maps.PrefilterMax is checked against it by TestGeneratedConstants. */
#define PREFILTER_MAX 262144

/* Key of the prefilter tries: prefix length in bits, then the IPv4 prefix, network order. */
struct prefilter_key {
	__u32 prefixlen;
	__be32 ip;
};

/* Which trie is in force and whether the tc program checks it: the value of prefilter_config,
 * one entry at key 0. */
struct prefilter_state {
	__u32 active; /* 0: prefilter_v4_0, 1: prefilter_v4_1 */
	__u32 tc;     /* 1: from_overlay checks the list (the XDP program is not attached) */
};

struct prefilter_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PREFILTER_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefilter_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
};

struct prefilter_trie prefilter_v4_0 SEC(".maps");
struct prefilter_trie prefilter_v4_1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct prefilter_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} prefilter_config SEC(".maps");

/* The prefilter's state (never NULL for an array map in practice). */
static __always_inline const struct prefilter_state *prefilter_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&prefilter_config, &zero);
}

/* Whether IPv4 source saddr (network order) is on the deny list in force. */
static __always_inline int prefilter_denied(const struct prefilter_state *st, __be32 saddr)
{
	struct prefilter_key k = { .prefixlen = 32, .ip = saddr };

	if (st->active)
		return bpf_map_lookup_elem(&prefilter_v4_1, &k) != NULL;
	return bpf_map_lookup_elem(&prefilter_v4_0, &k) != NULL;
}

/* The tc prefilter of from_overlay, on when the XDP program is not attached: a denied source
 * is a counted drop whose event is rate-limited (event_budget.h), as at XDP. Returns
 * TC_ACT_SHOT for such a packet, else NOT_MINE. */
static __always_inline int prefilter_tc(struct __sk_buff *skb)
{
	const struct prefilter_state *st = prefilter_cfg();
	__be32 saddr;

	if (!st || !st->tc || skb->protocol != bpf_htons(ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, saddr), &saddr, 4) ||
	    !prefilter_denied(st, saddr))
		return NOT_MINE;
	metric_add(METRIC_DROP_PREFILTER, skb->len);
	if (event_budget_take(METRIC_DROP_PREFILTER))
		event_drop(skb, METRIC_DROP_PREFILTER, EVENT_NO_RULE, IDENTITY_UNKNOWN, IDENTITY_UNKNOWN);
	return TC_ACT_SHOT;
}
