/* IPv4 header helpers. */
#pragma once

#include "common.h"

/* Packet offsets of IPv4 header fields behind the Ethernet header. */
#define IP_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_SADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))

/* frag_off bits (RFC 791 section 3.1), host order. */
#define IP_FRAG_DF 0x4000     /* don't fragment */
#define IP_FRAG_MF 0x2000     /* more fragments */
#define IP_FRAG_OFFSET 0x1fff /* fragment offset in 8-byte units */

/* Packet offset of the L4 header of an IPv4 packet whose header is ihl 32-bit words long,
 * options included (RFC 791 section 3.1: IHL). */
static __always_inline __u32 l4_off(__u8 ihl)
{
	return ETH_HLEN + ((__u32)(ihl & 0xf) << 2);
}

/* Whether an IPv4 packet with frag_off (network order) is a non-first fragment (no L4 header). */
static __always_inline int ipv4_later_fragment(__be16 frag_off)
{
	return (frag_off & bpf_htons(IP_FRAG_OFFSET)) != 0;
}

/* Whether an IPv4 packet with frag_off (network order) is any fragment, first or later. */
static __always_inline int ipv4_fragment(__be16 frag_off)
{
	return (frag_off & bpf_htons(IP_FRAG_MF | IP_FRAG_OFFSET)) != 0;
}

/* Fold a 32-bit one's-complement sum to the 16-bit Internet checksum (RFC 1071). */
static __always_inline __sum16 csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__sum16)~csum;
}

/* Decrement TTL and patch the header checksum incrementally (RFC 1624), as the kernel's
 * ip_decrease_ttl() in include/net/ip.h does. */
static __always_inline void ipv4_dec_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xffff));
	ip->ttl--;
}

/* Full header checksum of a 20-byte IPv4 header whose check field is zero: the sum of its ten
 * 16-bit words, summed in place (RFC 1071: byte order does not matter), without the helper
 * call bpf_csum_diff would cost on every encapsulated packet. */
static __always_inline __sum16 ipv4_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	return csum_fold(sum);
}
