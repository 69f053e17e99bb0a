/* Network policy: identity-pair verdicts compiled by the agent (policy/ in Go), enforced
 * statefully. A flow is decided once, on its first packet, at each enforcement point (the
 * sender's egress when the destination identity is known, and the receiver's ingress, which is
 * authoritative); allowed flows get a CT_POLICY entry, so established flows and their replies
 * pass without a lookup and an allow->deny change stops only new flows. ICMP errors about a
 * tracked flow pass with it. Lookup order as Cilium's bpf/lib/policy.h: exact port, then the
 * identity pair's any-traffic entry, then the default action. */
#pragma once

#include "ct.h"
#include "flow.h"
#include "events.h"

#define POLICY_DENY 0
#define POLICY_ALLOW 1

/* Identities from this number on belong to label sets; lower ones are reserved (unknown). */
#define FIRST_LABEL_IDENTITY 256

/* Per-rule drop counters hold this many rules; the last slot counts default-action drops. */
#define POLICY_RULES_MAX 1024

struct policy_key {
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dport; /* destination port, host byte order; 0 = any */
	__u8 proto;  /* IP protocol; 0 = any */
	__u8 pad;
};

struct policy_value {
	__u8 verdict; /* POLICY_ALLOW or POLICY_DENY */
	__u8 pad;
	__u16 rule;   /* index of the deciding rule */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

/* Packets and bytes dropped per deciding rule (slot POLICY_RULES_MAX-1: default action). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, POLICY_RULES_MAX);
	__type(key, __u32);
	__type(value, struct metric_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_drops SEC(".maps");

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

/* Tuple of skb for policy tracking: ports (ICMP echo id) where flow_parse knows them, else 0.
 * For an ICMP error, *inner gets the tuple of the packet it reports on. Returns 0 on success. */
static __always_inline int policy_tuple(struct __sk_buff *skb, struct ct_key *k, struct ct_key *inner,
					int *is_error)
{
	struct flow f = {};
	struct iphdr ip;
	__u8 icmp[8];
	__be16 ports[2];

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
		return -1;
	k->saddr = ip.saddr;
	k->daddr = ip.daddr;
	k->proto = ip.protocol;
	k->dir = CT_POLICY;
	*is_error = 0;
	if (flow_parse(skb, &f)) {
		k->sport = f.sport;
		k->dport = f.dport;
		return 0;
	}
	if (ip.protocol != IPPROTO_ICMP || ip.ihl != 5 || bpf_skb_load_bytes(skb, L4_OFF, icmp, sizeof(icmp)))
		return 0;
	if (icmp[0] != ICMP_DEST_UNREACH && icmp[0] != ICMP_TIME_EXCEEDED && icmp[0] != ICMP_PARAMETERPROB)
		return 0;
	if (bpf_skb_load_bytes(skb, L4_OFF + 8, &ip, sizeof(ip)) || ip.ihl != 5)
		return 0;
	inner->saddr = ip.saddr;
	inner->daddr = ip.daddr;
	inner->proto = ip.protocol;
	inner->dir = CT_POLICY;
	if ((ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) &&
	    !bpf_skb_load_bytes(skb, L4_OFF + 8 + sizeof(ip), ports, sizeof(ports))) {
		inner->sport = ports[0];
		inner->dport = ports[1];
	}
	*is_error = 1;
	return 0;
}

/* The compiled verdict for src -> dst of tuple k. */
static __always_inline struct policy_value policy_lookup(const struct node_params *cfg, __u32 src,
							 __u32 dst, const struct ct_key *k)
{
	struct policy_key pk = { .src_identity = src, .dst_identity = dst, .proto = k->proto };
	struct policy_value deflt = { .verdict = cfg->policy_default, .rule = EVENT_DEFAULT_RULE };
	struct policy_value *v;

	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP)
		pk.dport = bpf_ntohs(k->dport);
	v = bpf_map_lookup_elem(&policy, &pk);
	if (v)
		return *v;
	pk.dport = 0;
	pk.proto = 0;
	v = bpf_map_lookup_elem(&policy, &pk);
	return v ? *v : deflt;
}

/* Count and report a policy drop by rule. */
static __always_inline int policy_drop(struct __sk_buff *skb, __u16 rule, __u32 src, __u32 dst)
{
	__u32 slot = rule == EVENT_DEFAULT_RULE ? POLICY_RULES_MAX - 1 : rule;
	struct metric_value *c;

	if (slot >= POLICY_RULES_MAX)
		slot = POLICY_RULES_MAX - 1;
	c = bpf_map_lookup_elem(&policy_drops, &slot);
	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
	metric_add(METRIC_DROP_POLICY, skb->len);
	event_drop(skb, METRIC_DROP_POLICY, rule, src, dst);
	return TC_ACT_SHOT;
}

/* Enforce policy on an IPv4 packet from identity src to identity dst. decide = 0 (the
 * destination's identity is not known here) only records the flow so its replies pass.
 * Returns TC_ACT_OK to go on, or the verdict to return. */
static __always_inline int policy_enforce(struct __sk_buff *skb, const struct node_params *cfg,
					  __u32 src, __u32 dst, int decide)
{
	struct ct_key k = {}, rev = {}, inner = {};
	struct ct_entry *e, fresh = {};
	struct policy_value v;
	int is_error, err;

	if (!cfg->policy_enforce)
		return TC_ACT_OK;
	if (policy_tuple(skb, &k, &inner, &is_error))
		return drop(skb, METRIC_DROP_INVALID);
	e = bpf_map_lookup_elem(&ct, &k);
	if (!e) {
		rev.saddr = k.daddr;
		rev.daddr = k.saddr;
		rev.sport = k.dport;
		rev.dport = k.sport;
		rev.proto = k.proto;
		rev.dir = CT_POLICY;
		e = bpf_map_lookup_elem(&ct, &rev);
	}
	if (!e && is_error)
		e = bpf_map_lookup_elem(&ct, &inner);
	if (e) {
		ct_touch(e);
		return TC_ACT_OK;
	}
	if (decide) {
		v = policy_lookup(cfg, src, dst, &k);
		if (v.verdict != POLICY_ALLOW)
			return policy_drop(skb, v.rule, src, dst);
	}
	fresh.last_seen = bpf_ktime_get_ns();
	err = bpf_map_update_elem(&ct, &k, &fresh, BPF_NOEXIST);
	if (err == -EBPFNET_E2BIG)
		return drop(skb, METRIC_DROP_CT_FULL);
	return TC_ACT_OK;
}
