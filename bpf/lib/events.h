/* Drop events: one record per dropped packet in a ring buffer, read by `ebpfnet monitor`
 * through the agent, so that every drop can be explained (cf. Cilium's drop notifications). */
#pragma once

#include "maps.h"
#include "ipv4.h"

/* Rule of a drop event: a policy rule index, or one of these. */
enum event_rule : __u16 {
	EVENT_DEFAULT_RULE = 0xfffe, /* dropped by the policy's default action */
	EVENT_NO_RULE = 0xffff,      /* no policy rule decided the drop */
};

struct drop_event {
	__u64 ts_ns;        /* bpf_ktime_get_ns() */
	__be32 saddr;       /* IPv4 source, network order (0 when not IPv4) */
	__be32 daddr;
	__be16 sport;       /* ports or ICMP echo id, network order (0 when none) */
	__be16 dport;
	enum identity src_identity; /* IDENTITY_UNKNOWN when not known at the drop point */
	enum identity dst_identity;
	__u32 ifindex;      /* device the packet came in on */
	enum event_rule rule; /* deciding policy rule index, EVENT_DEFAULT_RULE, or EVENT_NO_RULE */
	__u8 proto;         /* IP protocol */
	__u8 reason;        /* enum metric drop reason */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drop_events SEC(".maps");

/* Set e's IPv4 tuple from header ip and, when ports is not NULL, the first 4 L4 bytes (kept for
 * TCP and UDP, not for a later fragment, which has none). Context-free: tc and XDP fill alike. */
static __always_inline void event_tuple(struct drop_event *e, const struct iphdr *ip,
					const __be16 *ports)
{
	e->saddr = ip->saddr;
	e->daddr = ip->daddr;
	e->proto = ip->protocol;
	if (ports && !ipv4_later_fragment(ip->frag_off) &&
	    (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP)) {
		e->sport = ports[0];
		e->dport = ports[1];
	}
}

/* Fill e with what the packet in skb shows: time, device, IPv4 tuple (ports at IHL * 4, IP
 * options included; a later fragment has none). A subprogram off the forwarding path, whose
 * pointer parameter also keeps struct drop_event in BTF for bpf2go (maps/events.go decodes
 * records with the generated type). */
static __noinline void event_fill(struct drop_event *e, struct __sk_buff *skb)
{
	struct iphdr ip;
	__be16 ports[2] = {};

	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = skb->ifindex;
	if (skb->protocol != bpf_htons(ETH_P_IP) || bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
		return;
	event_tuple(e, &ip, ip.ihl >= 5 && !bpf_skb_load_bytes(skb, l4_off(ip.ihl), ports, sizeof(ports)) ?
				    ports : NULL);
}

/* Queue a drop event for reason with its policy context; a full ring buffer loses the event,
 * never the verdict. */
static __always_inline void event_drop(struct __sk_buff *skb, __u8 reason, enum event_rule rule,
				       enum identity src_id, enum identity dst_id)
{
	struct drop_event *e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	event_fill(e, skb);
	e->reason = reason;
	e->rule = rule;
	e->src_identity = src_id;
	e->dst_identity = dst_id;
	bpf_ringbuf_submit(e, 0);
}
