/* The XDP program of the underlay device: early drop before the kernel allocates an skb (cf.
 * Cilium's bpf_xdp.c prefilter, Calico's XDP untracked policy). It drops only what the tc path
 * would drop for the same reason, through the same decisions (trust.h, policy.h): denied
 * sources (prefilter.h), VXLAN from no cluster host, of a foreign VNI or malformed, and a new
 * cross-host flow that network policy denies. Everything else passes unchanged (XDP_PASS) to
 * from_overlay, which decides all that XDP leaves undecided (spoofed inner sources, encryption,
 * tracked flows, fragments, ICMP errors). */
#pragma once

#include "maps.h"
#include "metrics.h"
#include "event_budget.h"
#include "prefilter.h"
#include "vxlan.h"
#include "trust.h"
#include "policy.h"

/* Where a drop was decided: the IPv4 header its event shows (outer, or inner for policy) and
 * its policy context. */
struct xdp_drop_ctx {
	const struct iphdr *ip;
	void *end;
	__u16 rule;
	__u32 src_id;
	__u32 dst_id;
};

/* Count a drop of reason m of len bytes and report it, rate-limited (event_budget.h), with the
 * tuple of d->ip (ports read at IHL * 4 when present). Returns XDP_DROP. */
static __always_inline int xdp_drop(struct xdp_md *ctx, enum metric m, __u32 len,
				    const struct xdp_drop_ctx *d)
{
	const struct iphdr *ip = d->ip;
	const __be16 *ports = (const void *)ip + ((__u32)(ip->ihl & 0xf) << 2);
	struct drop_event *e;

	metric_add(m, len);
	if (!event_budget_take(m))
		return XDP_DROP;
	e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	if (!e)
		return XDP_DROP;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ctx->ingress_ifindex;
	event_tuple(e, ip, PKT_HAS(ports, 4, d->end) ? ports : NULL);
	e->reason = m;
	e->rule = d->rule;
	e->src_identity = d->src_id;
	e->dst_identity = d->dst_id;
	bpf_ringbuf_submit(e, 0);
	return XDP_DROP;
}

/* The policy verdict on the decapsulated packet ip (up to end) of a trusted peer, from identity
 * src to the local endpoint ep, when it is a new flow (no CT_POLICY entry, policy_decide) of an
 * unfragmented TCP, UDP or ICMP echo packet: 1 and *v when policy denies it, else 0 (the tc
 * path decides). */
static __always_inline int xdp_policy_denies(const struct node_params *cfg, const struct iphdr *ip,
					     void *end, __u32 src, const struct endpoint_info *ep,
					     struct policy_value *v)
{
	const union l4_head *l4 = (const void *)ip + ((__u32)(ip->ihl & 0xf) << 2);
	struct policy_pkt p = {};
	struct ct_key orig;

	if (!cfg->policy_enforce || ipv4_fragment(ip->frag_off) || !PKT_HAS(l4, sizeof(*l4), end))
		return 0;
	p.k.saddr = ip->saddr;
	p.k.daddr = ip->daddr;
	p.k.proto = ip->protocol;
	p.k.dir = CT_POLICY;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		p.k.sport = l4->ports.source;
		p.k.dport = l4->ports.dest;
	} else if (ip->protocol == IPPROTO_ICMP &&
		   (l4->icmp.type == ICMP_ECHO || l4->icmp.type == ICMP_ECHOREPLY)) {
		p.k.sport = p.k.dport = l4->icmp.id;
	} else {
		return 0;
	}
	v->verdict = POLICY_ALLOW;
	if (policy_decide(cfg, cfg->policy_rev, &p, src, ep->identity, 1, &orig, v))
		return 0;
	return v->verdict != POLICY_ALLOW;
}

/* VXLAN to this host (rx parsed): the trust decision (vxlan_trust), then policy on a new flow.
 * Returns XDP_DROP after a counted drop, else XDP_PASS. */
static __always_inline int xdp_overlay(struct xdp_md *ctx, const struct node_params *cfg,
				       const struct vxlan_rx *rx, struct xdp_drop_ctx *d, __u32 len)
{
	const struct ipcache_info *src;
	const struct peer_info *peer;
	struct endpoint_key k = { .ip = rx->inner_ip->daddr };
	struct endpoint_info *ep;
	struct policy_value v;
	int rc = vxlan_trust(cfg, rx->outer_saddr, rx->vni, &peer);

	if (rc < 0)
		return xdp_drop(ctx, -rc, len, d);
	if (wg_plaintext_refused(cfg, peer))
		return XDP_PASS; /* from_overlay drops it decapsulated, naming the inner packet */
	src = peer_source_route(rx->outer_saddr, rx->inner_ip->saddr);
	ep = bpf_map_lookup_elem(&endpoints, &k);
	if (!src || !ep)
		return XDP_PASS;
	d->src_id = overlay_src_identity(peer, rx->src_identity, src);
	if (!xdp_policy_denies(cfg, rx->inner_ip, d->end, d->src_id, ep, &v))
		return XDP_PASS;
	/* Counted as the tc path counts it: the decapsulated frame's length. */
	len -= VXLAN_ENCAP_LEN;
	policy_drop_count(v.rule, len);
	d->ip = rx->inner_ip;
	d->rule = v.rule;
	d->dst_id = ep->identity;
	return xdp_drop(ctx, METRIC_DROP_POLICY, len, d);
}

/* The XDP verdict on the frame in ctx. A frame whose headers are not all in its first buffer
 * (multi-buffer) is left to the tc path rather than called malformed. */
static __always_inline int xdp_filter(struct xdp_md *ctx, const struct node_params *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct prefilter_state *st = prefilter_cfg();
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct xdp_drop_ctx d = { .ip = ip, .end = end, .rule = EVENT_NO_RULE };
	struct vxlan_rx rx = {};
	__u32 len = bpf_xdp_get_buff_len(ctx);
	int rc;

	if (!PKT_HAS(ip, sizeof(*ip), end) || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl < 5)
		return XDP_PASS;
	if (st && prefilter_denied(st, ip->saddr))
		return xdp_drop(ctx, METRIC_DROP_PREFILTER, len, &d);
	rc = vxlan_parse_hdrs(data, end, cfg, &rx);
	if (rc < 0 && len == (__u32)(end - data))
		return xdp_drop(ctx, -rc, len, &d);
	if (rc <= 0)
		return XDP_PASS;
	return xdp_overlay(ctx, cfg, &rx, &d, len);
}
