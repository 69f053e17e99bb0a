/* The translatable view of an IPv4 packet: addresses, ports (ICMP echo id for ICMP) and where
 * each field and checksum lives, for NAT rewrites. */
#pragma once

#include "common.h"

#define IP_CSUM_OFF (ETH_HLEN + 10)
#define IP_SADDR_OFF (ETH_HLEN + 12)
#define IP_DADDR_OFF (ETH_HLEN + 16)
#define IP_FRAG_MF 0x2000     /* more fragments (RFC 791), host order */
#define IP_FRAG_OFFSET 0x1fff /* fragment offset in 8-byte units (RFC 791), host order */

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

/* Packet offset of the L4 header of an IPv4 packet whose header is ihl 32-bit words long,
 * options included (RFC 791 section 3.1: IHL). */
static __always_inline __u32 l4_off(__u8 ihl)
{
	return ETH_HLEN + ((__u32)(ihl & 0xf) << 2);
}

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
	__u8 l4[8];

	if (bpf_skb_load_bytes(skb, off, l4, sizeof(l4)))
		goto unsupported;
	switch (f->proto) {
	case IPPROTO_TCP:
		f->csum_off = off + 16;
		f->csum_flags = 0;
		break;
	case IPPROTO_UDP:
		f->csum_off = off + 6;
		f->csum_flags = BPF_F_MARK_MANGLED_0;
		break;
	case IPPROTO_ICMP:
		if (l4[0] != ICMP_ECHO && l4[0] != ICMP_ECHOREPLY)
			goto unsupported;
		f->icmp_type = l4[0];
		f->csum_off = off + 2;
		f->csum_flags = 0;
		f->sport_off = f->dport_off = off + 4;
		f->sport = f->dport = *(__be16 *)(l4 + 4);
		return 1;
	default:
		goto unsupported;
	}
	f->sport_off = off;
	f->dport_off = off + 2;
	f->sport = *(__be16 *)l4;
	f->dport = *(__be16 *)(l4 + 2);
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

	if (!PKT_HAS(ip, sizeof(*ip), end) || ip->ihl < 5 || (ip->frag_off & bpf_htons(0x3fff)))
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
