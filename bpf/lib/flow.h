/* The translatable view of an IPv4 packet: addresses, ports (ICMP echo id for ICMP) and where
 * each field and checksum lives, for NAT rewrites. */
#pragma once

#include "ipv4.h"

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

/* ICMP echo header (RFC 792); <linux/icmp.h> drags in libc headers that the BPF target cannot
 * build. Also the first 8 bytes of every ICMP message (type, code, checksum, rest). */
struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

/* The first 8 L4 bytes: all flow_parse_l4 reads of a TCP, UDP or ICMP header. */
union l4_head {
	struct {
		__be16 source; /* TCP and UDP ports share their first 4 bytes */
		__be16 dest;
	} ports;
	struct icmp_echo_hdr icmp;
};

struct flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;    /* TCP/UDP source port, or ICMP echo id */
	__be16 dport;    /* TCP/UDP destination port, or ICMP echo id */
	__u8 proto;      /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	__u8 icmp_type;  /* ICMP_ECHO or ICMP_ECHOREPLY for ICMP */
	__u16 sport_off; /* packet offset of sport (the echo id for ICMP) */
	__u16 dport_off; /* packet offset of dport (the echo id for ICMP) */
	__u16 csum_off;  /* packet offset of the L4 checksum */
	__u64 csum_flags; /* extra bpf_l4_csum_replace flags: keep a zero UDP checksum zero */
};

/* Fill f's ports and field offsets from the L4 header at off (saddr, daddr and proto already
 * set). Returns 1 for TCP, UDP or ICMP echo with the header's first 8 bytes present, else 0
 * (and f->proto 0). Fragments are the caller's concern: only a first fragment has ports. */
static __always_inline int flow_parse_l4(struct __sk_buff *skb, __u32 off, struct flow *f)
{
	union l4_head l4;

	if (bpf_skb_load_bytes(skb, off, &l4, sizeof(l4)))
		goto unsupported;
	switch (f->proto) {
	case IPPROTO_TCP:
		f->csum_off = off + __builtin_offsetof(struct tcphdr, check);
		f->csum_flags = 0;
		break;
	case IPPROTO_UDP:
		f->csum_off = off + __builtin_offsetof(struct udphdr, check);
		f->csum_flags = BPF_F_MARK_MANGLED_0;
		break;
	case IPPROTO_ICMP:
		if (l4.icmp.type != ICMP_ECHO && l4.icmp.type != ICMP_ECHOREPLY)
			goto unsupported;
		f->icmp_type = l4.icmp.type;
		f->csum_off = off + __builtin_offsetof(struct icmp_echo_hdr, checksum);
		f->csum_flags = 0;
		f->sport_off = f->dport_off = off + __builtin_offsetof(struct icmp_echo_hdr, id);
		f->sport = f->dport = l4.icmp.id;
		return 1;
	default:
		goto unsupported;
	}
	f->sport_off = off + __builtin_offsetof(struct udphdr, source);
	f->dport_off = off + __builtin_offsetof(struct udphdr, dest);
	f->sport = l4.ports.source;
	f->dport = l4.ports.dest;
	return 1;
unsupported:
	f->proto = 0;
	return 0;
}

/* Parse skb into f. Returns 1 for an unfragmented IPv4 TCP, UDP or ICMP echo packet that NAT
 * can handle, IP options included (L4 at IHL * 4), 0 otherwise (and then f->proto is 0 if f
 * was zeroed). NAT refuses fragments: only the first one carries the ports it rewrites. */
static __always_inline int flow_parse(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;

	if (!PKT_HAS(ip, sizeof(*ip), end) || ip->ihl < 5 || ipv4_fragment(ip->frag_off))
		return 0;
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	return flow_parse_l4(skb, l4_off(ip->ihl), f);
}

/* Rewrite the IPv4 address at off from old to new, patching the IPv4 checksum and, for TCP and
 * UDP, the L4 checksum's pseudo-header part (CHECKSUM_PARTIAL-safe via BPF_F_PSEUDO_HDR). */
static __always_inline int flow_set_addr(struct __sk_buff *skb, const struct flow *f, __u32 off,
					 __be32 old, __be32 new)
{
	if (f->proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(skb, f->csum_off, old, new, BPF_F_PSEUDO_HDR | f->csum_flags | 4))
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 4))
		return -1;
	return bpf_skb_store_bytes(skb, off, &new, 4, 0);
}

/* Rewrite the port (or ICMP echo id) at off from old to new, patching the L4 checksum. */
static __always_inline int flow_set_port(struct __sk_buff *skb, const struct flow *f, __u32 off,
					 __be16 old, __be16 new)
{
	if (bpf_l4_csum_replace(skb, f->csum_off, old, new, f->csum_flags | 2))
		return -1;
	return bpf_skb_store_bytes(skb, off, &new, 2, 0);
}

/* TCP header flag bits (RFC 9293 section 3.1), byte 13 of the header. */
#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

/* The TCP flags byte of f's packet; 0 for UDP, ICMP or when unreadable. */
static __always_inline __u8 flow_tcp_flags(struct __sk_buff *skb, const struct flow *f)
{
	__u8 flags = 0;

	if (f->proto != IPPROTO_TCP || bpf_skb_load_bytes(skb, f->sport_off + 13, &flags, 1))
		return 0;
	return flags;
}
