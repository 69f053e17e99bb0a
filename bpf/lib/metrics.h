/* Per-CPU packet/byte counters by verdict and drop reason. */
#pragma once

#include "maps.h"
#include "events.h"

/* Counter index: forwarding verdicts, then drop reasons. Append only: the Go side and
 * operators' dashboards rely on the numbers. */
enum metric {
	METRIC_FWD_LOCAL = 0,           /* delivered to a container on this host */
	METRIC_FWD_ENCAP = 1,           /* VXLAN-encapsulated towards a peer host */
	METRIC_FWD_DECAP = 2,           /* decapsulated and delivered to a local container */
	METRIC_ARP_REPLY = 3,           /* ARP request answered in BPF */
	METRIC_TO_HOST = 4,             /* passed to the host stack (outside the cluster CIDR) */
	METRIC_DROP_UNKNOWN_ENDPOINT = 5, /* destination inside a known CIDR but no endpoint */
	METRIC_DROP_NO_ROUTE = 6,       /* cluster destination with no ipcache entry / no underlay route */
	METRIC_DROP_SPOOFED_SOURCE = 7, /* source IP not owned by the sending endpoint */
	METRIC_DROP_INVALID = 8,        /* truncated or malformed headers */
	METRIC_DROP_TTL_EXCEEDED = 9,   /* TTL would reach zero */
	METRIC_DROP_BAD_VNI = 10,       /* VXLAN packet with a foreign VNI */
	METRIC_DROP_FRAG_NEEDED = 11,   /* encapsulated packet exceeds the underlay MTU */
	METRIC_DROP_ENCAP_FAILED = 12,  /* bpf_skb_adjust_room or header write failed */
	METRIC_FWD_SNAT = 13,           /* masqueraded to the host's IP and routed out */
	METRIC_FWD_SNAT_REPLY = 14,     /* reply to a masqueraded flow, delivered to its container */
	METRIC_FWD_DNAT = 15,           /* to a published hostPort, delivered to its container */
	METRIC_FWD_DNAT_REPLY = 16,     /* reply from a published port, source restored */
	METRIC_DROP_CT_FULL = 17,       /* connection-tracking map full: new flow refused */
	METRIC_DROP_NAT_EXHAUSTED = 18, /* no free masquerade (or mesh source) port for it */
	METRIC_DROP_POLICY = 19,        /* denied by network policy (rule in the drop event) */
	METRIC_DROP_UNKNOWN_PEER = 20,  /* VXLAN whose outer source is no cluster host */
	METRIC_DROP_TUNNEL_FROM_CONTAINER = 21, /* container packet to a host's VXLAN/WireGuard port */
	METRIC_DROP_UNENCRYPTED = 22,   /* plaintext VXLAN from a host that has a WireGuard key */
	METRIC_DROP_NO_KEY = 23,        /* encryption on, peer has no key yet: nothing sent in clear */
	METRIC_DROP_FRAG_UNKNOWN = 24,  /* non-first fragment with no remembered verdict */
	METRIC_DROP_CT_QUOTA = 25,      /* the endpoint's conntrack quota is used up */
	METRIC_DROP_PREFILTER = 26,     /* source on the XDP prefilter deny list */
	METRIC_DROP_CROSS_NETWORK = 27, /* source and destination (or VNI) on different networks */
	METRIC_DROP_INTERNAL_NETWORK = 28, /* an --internal network's endpoint sending outside it */
	METRIC_DROP_NO_BACKEND = 29,    /* service port with no backend (answered, not silent) */
	METRIC_FWD_SERVICE = 30,        /* translated from a service VIP or mesh port to a backend */
	METRIC_FWD_NATIVE = 31,         /* routed to the peer host without encapsulation (native) */
	METRIC_MAX = 32,
};

/* Keyed by enum metric as __u32: the kernel accepts only an integer BTF key for arrays. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, METRIC_MAX);
	__type(key, __u32);
	__type(value, struct metric_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} metrics SEC(".maps");

/* Count one packet of len bytes under m. */
static __always_inline void metric_add(enum metric m, __u32 len)
{
	__u32 key = m;
	struct metric_value *v = bpf_map_lookup_elem(&metrics, &key);

	if (v) {
		v->packets++;
		v->bytes += len;
	}
}

/* Count a drop under reason m and report it with its policy context (deciding rule and
 * identities; EVENT_NO_RULE and IDENTITY_UNKNOWN where none) to the drop-event ring buffer;
 * returns the tc verdict that drops. The one place a drop is counted and reported: program
 * entry points reach it through verdict() for a helper's negative drop reason, policy through
 * policy_drop() for its rule. A subprogram off the forwarding path, which also keeps enum metric
 * in BTF for bpf2go. */
static __noinline int drop_notify(struct __sk_buff *skb, enum metric m, enum event_rule rule,
				  enum identity src_id, enum identity dst_id)
{
	metric_add(m, skb->len);
	event_drop(skb, m, rule, src_id, dst_id);
	return TC_ACT_SHOT;
}

/* The tc verdict of a program whose stages returned rc: a verdict (>= TC_ACT_OK) as it is, a
 * negative drop reason (-enum metric) as a counted, reported drop. Cilium's convention: helpers
 * return a negative drop reason, the entry point alone sends the drop notification
 * (bpf/lib/drop.h send_drop_notify_error at the end of bpf_lxc.c's handlers). */
static __always_inline int verdict(struct __sk_buff *skb, int rc)
{
	return rc < 0 ? drop_notify(skb, -rc, EVENT_NO_RULE, IDENTITY_UNKNOWN, IDENTITY_UNKNOWN) : rc;
}
