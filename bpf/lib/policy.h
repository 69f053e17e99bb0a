/* Network policy: identity-pair verdicts compiled by the agent (policy/ in Go), enforced
 * statefully. A flow is decided on its first packet at each enforcement point (the sender's
 * egress when the destination identity is known, and the receiver's ingress, which is
 * authoritative); allowed flows get a CT_POLICY entry stamped with the policy revision, so
 * established flows and their replies pass without a lookup until the policy changes; then
 * each is decided again on its next packet and removed if now denied. Ports are read at
 * IHL * 4 (IP options); fragments are decided on the first one (ipfrag.h); a TCP or UDP packet
 * without its ports is invalid: nothing is ever decided on port 0. ICMP errors pass only about
 * a tracked flow between the same two endpoints. Lookup order as Cilium's bpf/lib/policy.h:
 * exact port, then the identity pair's any-traffic entry, then the default action. */
#pragma once

#include "ct.h"
#include "ct_quota.h"
#include "flow.h"
#include "events.h"
#include "ipfrag.h"

/* Per-rule drop counters hold this many rules; the last slot counts default-action drops.
 * A map size, not a field type: maps.PolicyRulesMax is checked against the map's max_entries
 * by TestGeneratedConstants. */
#define POLICY_RULES_MAX 1024

struct policy_key {
	__u32 src_identity;
	__u32 dst_identity;
	__u16 dport; /* destination port, host byte order; 0 = any */
	__u8 proto;  /* IP protocol; 0 = any */
	__u8 gen;    /* generation (node_params.policy_rev & 1): the next policy is written beside
		      * the one in force, then node_config flips to it */
};

struct policy_value {
	enum policy_verdict verdict;
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

/* What policy reads of a packet. */
struct policy_pkt {
	struct ct_key k;        /* the packet's tuple; ports (ICMP echo id) 0 where it has none */
	struct ct_key inner;    /* is_error: the tuple of the packet the ICMP error quotes */
	struct ipfrag_key frag; /* the datagram, for fragments */
	__u8 is_error;          /* an ICMP error (RFC 792 types 3, 11, 12) */
	__u8 frag_kind;         /* enum ipfrag_kind */
};

/* The ICMP error at L4 offset off, if it is one: p->inner gets the quoted packet's tuple (its
 * IPv4 header, options included, and first 8 L4 bytes, RFC 792). */
static __always_inline void policy_parse_icmp_error(struct __sk_buff *skb, __u32 off,
						    struct policy_pkt *p)
{
	struct flow f = {};
	struct iphdr ip;
	__u8 type;

	if (bpf_skb_load_bytes(skb, off, &type, 1))
		return;
	if (type != ICMP_DEST_UNREACH && type != ICMP_TIME_EXCEEDED && type != ICMP_PARAMETERPROB)
		return;
	off += sizeof(struct icmp_echo_hdr); /* the quoted packet follows the first 8 bytes */
	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.ihl < 5)
		return;
	p->is_error = 1;
	p->inner.saddr = ip.saddr;
	p->inner.daddr = ip.daddr;
	p->inner.proto = ip.protocol;
	p->inner.dir = CT_POLICY;
	f.proto = ip.protocol;
	if (flow_parse_l4(skb, off + ((__u32)(ip.ihl & 0xf) << 2), &f)) {
		p->inner.sport = f.sport;
		p->inner.dport = f.dport;
	}
}

/* Parse skb for policy. Returns 0, or a negative drop reason (METRIC_DROP_INVALID: a
 * malformed IPv4 header, or a TCP/UDP packet or first fragment without its ports). */
static __always_inline int policy_parse(struct __sk_buff *skb, struct policy_pkt *p)
{
	struct flow f = {};
	struct iphdr ip;
	__u32 off;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) || ip.ihl < 5)
		return -METRIC_DROP_INVALID;
	p->k.saddr = ip.saddr;
	p->k.daddr = ip.daddr;
	p->k.proto = ip.protocol;
	p->k.dir = CT_POLICY;
	p->frag_kind = ipfrag_kind(&ip);
	p->frag = ipfrag_key_of(&ip);
	if (p->frag_kind == IPFRAG_LATER)
		return 0;
	off = l4_off(ip.ihl);
	f.proto = ip.protocol;
	if (flow_parse_l4(skb, off, &f)) {
		p->k.sport = f.sport;
		p->k.dport = f.dport;
		return 0;
	}
	if (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP)
		return -METRIC_DROP_INVALID;
	if (ip.protocol == IPPROTO_ICMP && p->frag_kind == IPFRAG_NONE)
		policy_parse_icmp_error(skb, off, p);
	return 0;
}

/* The compiled verdict for src -> dst of tuple k under policy revision rev. */
static __always_inline struct policy_value policy_lookup(const struct node_params *cfg, __u16 rev,
							 __u32 src, __u32 dst, const struct ct_key *k)
{
	struct policy_key pk = { .src_identity = src, .dst_identity = dst, .proto = k->proto, .gen = rev & 1 };
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

/* Count a policy drop of len bytes under its deciding rule (policy_drops), context-free. */
static __always_inline void policy_drop_count(__u16 rule, __u32 len)
{
	__u32 slot = rule == EVENT_DEFAULT_RULE ? POLICY_RULES_MAX - 1 : rule;
	struct metric_value *c;

	if (slot >= POLICY_RULES_MAX)
		slot = POLICY_RULES_MAX - 1;
	c = bpf_map_lookup_elem(&policy_drops, &slot);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/* Count a policy drop by rule and report it with rule and identities (drop_notify). */
static __always_inline int policy_drop(struct __sk_buff *skb, __u16 rule, __u32 src, __u32 dst)
{
	policy_drop_count(rule, skb->len);
	return drop_notify(skb, METRIC_DROP_POLICY, rule, src, dst);
}

/* r = k in the other direction. */
static __always_inline void ct_key_reverse(const struct ct_key *k, struct ct_key *r)
{
	r->saddr = k->daddr;
	r->daddr = k->saddr;
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->dir = k->dir;
}

/* The CT_POLICY entry of the flow p belongs to, either direction; *orig gets its key (the
 * direction that opened the flow). An ICMP error belongs to the flow it quotes only when the
 * quoted packet went between the same two endpoints (quoted source = the error's destination
 * and quoted destination = the error's source, RFC 5508 section 4, Cilium's nat.h); a forged
 * error quoting a flow elsewhere belongs to none. */
static __always_inline struct ct_entry *policy_ct_lookup(const struct policy_pkt *p, struct ct_key *orig)
{
	const struct ct_key *t = &p->k;
	struct ct_entry *e;

	if (p->is_error) {
		if (p->inner.saddr != p->k.daddr || p->inner.daddr != p->k.saddr)
			return NULL;
		t = &p->inner;
	}
	*orig = *t;
	e = bpf_map_lookup_elem(&ct, orig);
	if (e)
		return e;
	ct_key_reverse(t, orig);
	return bpf_map_lookup_elem(&ct, orig);
}

/* The decision on packet p from identity src to dst under revision rev, context-free (the tc
 * programs and the XDP program both call it): the flow's tracked CT_POLICY entry (key in
 * *orig) when it has one, for the caller to recheck; else NULL and, for a point that decides
 * (decide 1), *v gets the verdict of a new flow (it stays as given otherwise). */
static __always_inline struct ct_entry *policy_decide(const struct node_params *cfg, __u16 rev,
						      const struct policy_pkt *p, __u32 src, __u32 dst,
						      int decide, struct ct_key *orig,
						      struct policy_value *v)
{
	struct ct_entry *e = policy_ct_lookup(p, orig);

	if (!e && decide)
		*v = policy_lookup(cfg, rev, src, dst, &p->k);
	return e;
}

/* An established flow (entry e, key orig) decided under an older policy revision is decided
 * again under rev, in the direction that opened it (src/dst swapped for a packet going the
 * other way): still allowed, e is stamped with rev; now denied, e is removed and the packet
 * dropped (*v gets the verdict). Entries recorded undecided, or a point that cannot decide
 * (decide 0), only refresh. Returns TC_ACT_OK or the verdict of a reported policy drop. */
static __always_inline int policy_recheck(struct __sk_buff *skb, const struct node_params *cfg,
					  __u16 rev, struct ct_entry *e, const struct ct_key *orig,
					  __be32 saddr, __u32 src, __u32 dst, int decide,
					  struct policy_value *v)
{
	__u32 tmp;

	if (e->policy_rev != rev && !(e->flags & CT_F_UNDECIDED) && decide) {
		if (orig->saddr != saddr) {
			tmp = src;
			src = dst;
			dst = tmp;
		}
		*v = policy_lookup(cfg, rev, src, dst, orig);
		if (v->verdict != POLICY_ALLOW) {
			bpf_map_delete_elem(&ct, orig);
			return policy_drop(skb, v->rule, src, dst);
		}
		e->policy_rev = rev;
	}
	ct_touch(e);
	return TC_ACT_OK;
}

/* Decide the packet p (not a later fragment): its tracked flow, or a policy lookup (decide 1)
 * and a new CT_POLICY entry. *v gets the policy verdict when one was looked up (else it stays
 * allow). Returns TC_ACT_OK, the verdict of a reported policy drop, or a negative drop reason. */
static __always_inline int policy_flow(struct __sk_buff *skb, const struct node_params *cfg, __u16 rev,
				       const struct policy_pkt *p, __u32 src, __u32 dst, int decide,
				       struct policy_value *v)
{
	struct ct_entry *e, fresh = {};
	struct ct_key orig;
	int err;

	e = policy_decide(cfg, rev, p, src, dst, decide, &orig, v);
	if (e)
		return policy_recheck(skb, cfg, rev, e, &orig, p->k.saddr, src, dst, decide, v);
	if (v->verdict != POLICY_ALLOW)
		return policy_drop(skb, v->rule, src, dst);
	if (p->is_error)
		return TC_ACT_OK; /* an allowed error opens no flow */
	err = ct_quota_charge(p->k.saddr, p->k.daddr, 1);
	if (err)
		return err;
	fresh.last_seen = bpf_ktime_get_ns();
	fresh.policy_rev = rev;
	fresh.flags = decide ? 0 : CT_F_UNDECIDED;
	err = bpf_map_update_elem(&ct, &p->k, &fresh, BPF_NOEXIST);
	if (err == -EBPFNET_E2BIG)
		return -METRIC_DROP_CT_FULL;
	return TC_ACT_OK;
}

/* A later fragment takes its datagram's first-fragment verdict; none remembered under the
 * policy in force (rev): dropped (-METRIC_DROP_FRAG_UNKNOWN), so a policy change also stops
 * datagrams half through. */
static __always_inline int policy_later_fragment(struct __sk_buff *skb, const struct ipfrag_key *k,
						 __u16 rev, __u32 src, __u32 dst)
{
	struct ipfrag_verdict *fv = bpf_map_lookup_elem(&frag_verdicts, k);

	if (!fv || fv->policy_rev != rev)
		return -METRIC_DROP_FRAG_UNKNOWN;
	if (!fv->allow)
		return policy_drop(skb, fv->rule, src, dst);
	return TC_ACT_OK;
}

/* Enforce policy on an IPv4 packet from identity src to identity dst. decide = 0 (the
 * destination's identity is not known here) only records the flow so its replies pass.
 * Returns TC_ACT_OK to go on, the verdict of a reported policy drop (rule and identities in its
 * event), or a negative drop reason for the entry point to report. A BPF subprogram: inlined at each of
 * its call sites it doubled the object. */
static __noinline int policy_enforce(struct __sk_buff *skb, const struct node_params *cfg,
				     __u32 src, __u32 dst, int decide)
{
	struct policy_value v = { .verdict = POLICY_ALLOW, .rule = EVENT_NO_RULE };
	struct policy_pkt p = {};
	__u16 rev = cfg->policy_rev;
	int rc;

	if (!cfg->policy_enforce)
		return TC_ACT_OK;
	rc = policy_parse(skb, &p);
	if (rc < 0)
		return rc;
	if (p.frag_kind == IPFRAG_LATER)
		return policy_later_fragment(skb, &p.frag, rev, src, dst);
	rc = policy_flow(skb, cfg, rev, &p, src, dst, decide, &v);
	if (p.frag_kind == IPFRAG_FIRST && (rc == TC_ACT_OK || v.verdict != POLICY_ALLOW))
		ipfrag_remember(&p.frag, rc == TC_ACT_OK, v.rule, rev);
	return rc;
}
