/* Per-endpoint conntrack quota: every new ct entry is charged to one local endpoint (the
 * sender of a flow it opens, else the receiver), and an endpoint whose count reached its limit
 * gets no new entry (METRIC_DROP_CT_QUOTA), so one container flooding new flows cannot take
 * the table from the others (they keep their share). The agent writes the limits (default
 * ct-max / (endpoints + 1)) and recounts every endpoint's live entries when it expires idle
 * ones; between recounts the count only grows, erring on the side of the limit. */
#pragma once

#include "ct.h"
#include "maps.h"

struct ct_quota_value {
	__u32 count; /* ct entries charged to the endpoint (recounted by the agent) */
	__u32 limit; /* at most this many; 0 = no limit */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct endpoint_key);
	__type(value, struct ct_quota_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct_quota SEC(".maps");

/* The quota of the endpoint at ip (network order), NULL when it has none. */
static __always_inline struct ct_quota_value *ct_quota_of(__be32 ip)
{
	struct endpoint_key k = { .ip = ip };

	return bpf_map_lookup_elem(&ct_quota, &k);
}

/* Charge n new entries to the endpoint owning a flow from saddr to daddr (saddr's quota, else
 * daddr's; neither: not limited). Returns 0, or -METRIC_DROP_CT_QUOTA when it is used up. */
static __always_inline int ct_quota_charge(__be32 saddr, __be32 daddr, __u32 n)
{
	struct ct_quota_value *q = ct_quota_of(saddr);

	if (!q)
		q = ct_quota_of(daddr);
	if (!q || !q->limit)
		return 0;
	if (q->count + n > q->limit)
		return -METRIC_DROP_CT_QUOTA;
	__sync_fetch_and_add(&q->count, n);
	return 0;
}
