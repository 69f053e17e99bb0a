/* Connection-tracking/NAT table: one entry per direction of a translated flow (cf. Cilium's
 * cilium_snat_v4_external and ct maps). A plain hash, not LRU: when it is full new flows are
 * refused (METRIC_DROP_CT_FULL) and established ones keep their entries; the agent expires
 * idle entries by last_seen. */
#pragma once

#include "metrics.h"

/* Direction/kind of a ct entry. */
enum ct_dir : __u8 {
	CT_SNAT_OUT = 1,   /* container -> outside, before masquerade: translated source */
	CT_SNAT_IN = 2,    /* outside -> host IP:port, a masquerade reply: original container */
	CT_DNAT_REPLY = 3, /* published container -> client: the hostIP:hostPort to show */
	CT_POLICY = 4,     /* a flow network policy allowed (or this host originated): no translation */
	CT_SERVICE = 5,    /* client -> service VIP:port: addr:port is its backend (lib/lb.h) */
	CT_MESH = 6,       /* mesh backend -> outside client: addr is the host the flow came through */
};

struct ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* port, or ICMP echo id */
	__be16 dport; /* port, or ICMP echo id */
	__u8 proto;
	enum ct_dir dir;
	__u16 pad;
};

/* ct entry flags (bits). */
enum ct_flag : __u16 {
	/* CT_DNAT_REPLY of a self-hairpin: the client was the endpoint itself, whose source was
	 * rewritten to the gateway; its reply must go back to orig_addr. */
	CT_F_HAIRPIN = 0x1,
	/* CT_POLICY created where the destination's identity was unknown: recorded for its
	 * replies, never decided here, so a policy change does not re-decide it here either. */
	CT_F_UNDECIDED = 0x2,
	/* CT_DNAT_REPLY of TCP: the client sent a FIN (or either side a RST) / the target did.
	 * With both, the flow is closed and last_seen is its close time (ct_track_close). */
	CT_F_FIN_CLIENT = 0x4,
	CT_F_FIN_TARGET = 0x8,
};

struct ct_entry {
	__u64 last_seen;  /* bpf_ktime_get_ns() of the last packet, ns since boot */
	__be32 addr;      /* translated address */
	__be32 orig_addr; /* CT_F_HAIRPIN: the client endpoint's address; else 0 */
	__be16 port;      /* translated port or echo id */
	enum ct_flag flags; /* CT_F_* */
	__u16 policy_rev; /* CT_POLICY: node_params.policy_rev the flow was last decided under */
	/* Routing-mesh flows (lib/lb_mesh_port.h), network order, 0 otherwise: in CT_SERVICE the
	 * source port the entry host gave the client, in CT_DNAT_REPLY the client's own source
	 * port its replies get back. (Took the former pad: same size, no map migration.) */
	__be16 mesh_sport;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144); /* the agent sizes it from --ct-max before loading */
	__type(key, struct ct_key);
	__type(value, struct ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct SEC(".maps");

/* Errno values of bpf_map_update_elem (include/uapi/asm-generic/errno-base.h). */
#define EBPFNET_E2BIG 7
#define EBPFNET_EEXIST 17

/* Refresh e's last_seen at most once a second, to spare a shared cache line per packet. */
static __always_inline void ct_touch(struct ct_entry *e)
{
	__u64 now = bpf_ktime_get_ns();

	if (now - e->last_seen > 1000000000ULL)
		e->last_seen = now;
}

/* Insert v at k unless k is taken (BPF_NOEXIST): the probing step of port allocation.
 * Returns 0 when inserted, 1 when taken, -METRIC_DROP_CT_FULL when ct is full. */
static __always_inline int ct_claim(const struct ct_key *k, const struct ct_entry *v)
{
	int err = bpf_map_update_elem(&ct, k, v, BPF_NOEXIST);

	if (err == -EBPFNET_E2BIG)
		return -METRIC_DROP_CT_FULL;
	return err ? 1 : 0;
}
