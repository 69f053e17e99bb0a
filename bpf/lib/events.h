/* Drop events: one record per dropped packet in a ring buffer, read by `ebpfnet monitor`
 * through the agent, so that every drop can be explained (cf. Cilium's drop notifications). */
#pragma once

#include "common.h"

/* Rule index of drops that no policy rule decided. */
#define EVENT_NO_RULE 0xffff
/* Rule index of drops by the policy's default action. */
#define EVENT_DEFAULT_RULE 0xfffe

struct drop_event {
	__u64 ts_ns;        /* bpf_ktime_get_ns() */
	__be32 saddr;       /* IPv4 source, network order (0 when not IPv4) */
	__be32 daddr;
	__be16 sport;       /* ports or ICMP echo id, network order (0 when none) */
	__be16 dport;
	__u32 src_identity; /* 0 when not known at the drop point */
	__u32 dst_identity;
	__u32 ifindex;      /* device the packet came in on */
	__u16 rule;         /* deciding policy rule, EVENT_DEFAULT_RULE, or EVENT_NO_RULE */
	__u8 proto;         /* IP protocol */
	__u8 reason;        /* enum metric drop reason */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drop_events SEC(".maps");

/* Queue a drop event; a full ring buffer loses the event, never the verdict. */
static __always_inline void event_drop(struct __sk_buff *skb, __u8 reason, __u16 rule,
				       __u32 src_id, __u32 dst_id)
{
	struct drop_event *e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	struct iphdr ip;
	__be16 ports[2] = {};

	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = skb->ifindex;
	e->reason = reason;
	e->rule = rule;
	e->src_identity = src_id;
	e->dst_identity = dst_id;
	if (skb->protocol == bpf_htons(ETH_P_IP) && !bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) {
		e->saddr = ip.saddr;
		e->daddr = ip.daddr;
		e->proto = ip.protocol;
		/* Ports at IHL * 4 (IP options); a later fragment has none. */
		if (ip.ihl >= 5 && !(ip.frag_off & bpf_htons(0x1fff)) &&
		    (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) &&
		    !bpf_skb_load_bytes(skb, ETH_HLEN + ((__u32)(ip.ihl & 0xf) << 2), ports, sizeof(ports))) {
			e->sport = ports[0];
			e->dport = ports[1];
		}
	}
	bpf_ringbuf_submit(e, 0);
}
