/* IPv4 fragments and policy: only the first fragment carries the L4 ports, so it is decided
 * and its verdict remembered for the datagram's later fragments, keyed by what RFC 791 says
 * identifies a datagram ({saddr, daddr, id, proto}), as Cilium's bpf/lib/ipfrag.h does. A
 * later fragment without a remembered verdict is dropped (METRIC_DROP_FRAG_UNKNOWN): never
 * decided on port 0. An LRU map: a lost entry costs a datagram, never a wrong verdict. */
#pragma once

#include "flow.h"

/* Where a packet stands as a fragment. */
enum ipfrag_kind {
	IPFRAG_NONE = 0,  /* a whole datagram */
	IPFRAG_FIRST = 1, /* offset 0, more fragments follow: has the L4 header */
	IPFRAG_LATER = 2, /* offset > 0: no L4 header */
};

/* A datagram being fragmented (RFC 791 section 3.2: the fields that identify it). */
struct ipfrag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id; /* IPv4 identification, network order */
	__u8 proto;
	__u8 pad;
};

/* The first fragment's policy verdict, valid under the policy revision it was made under. */
struct ipfrag_verdict {
	__u8 allow;       /* 1: the first fragment was allowed */
	__u8 pad;
	__u16 rule;       /* deciding rule of a denied first fragment */
	__u16 policy_rev; /* node_params.policy_rev of the decision */
	__u16 pad2;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ipfrag_key);
	__type(value, struct ipfrag_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frag_verdicts SEC(".maps");

/* Classify ip as whole datagram, first or later fragment (frag_off, RFC 791). */
static __always_inline enum ipfrag_kind ipfrag_kind(const struct iphdr *ip)
{
	__u16 frag = bpf_ntohs(ip->frag_off);

	if (frag & IP_FRAG_OFFSET)
		return IPFRAG_LATER;
	return (frag & IP_FRAG_MF) ? IPFRAG_FIRST : IPFRAG_NONE;
}

/* The datagram key of ip. */
static __always_inline struct ipfrag_key ipfrag_key_of(const struct iphdr *ip)
{
	struct ipfrag_key k = { .saddr = ip->saddr, .daddr = ip->daddr, .id = ip->id, .proto = ip->protocol };

	return k;
}

/* Remember the first fragment's verdict (under policy revision rev) for the datagram's later
 * fragments. */
static __always_inline void ipfrag_remember(const struct ipfrag_key *k, int allow, __u16 rule, __u16 rev)
{
	struct ipfrag_verdict v = { .allow = !!allow, .rule = rule, .policy_rev = rev };

	bpf_map_update_elem(&frag_verdicts, k, &v, BPF_ANY);
}
