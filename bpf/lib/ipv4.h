/* IPv4 header helpers. */
#pragma once

#include "common.h"

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

/* Full header checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __sum16 ipv4_csum(struct iphdr *ip)
{
	return csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));
}
