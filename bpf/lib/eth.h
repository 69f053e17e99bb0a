/* Ethernet header rewrites. */
#pragma once

#include "common.h"

/* Set source and destination MAC, as a router does before forwarding. */
static __always_inline void eth_rewrite(struct ethhdr *eth, const __u8 *src, const __u8 *dst)
{
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
}

/* VTEP MAC of a host: 0e:00 followed by its underlay IPv4 bytes, the convention of Rancher's
 * VXLAN backend (rancher/vxlan), so a plain kernel VXLAN host can address us statically. */
static __always_inline void vtep_mac(__u8 mac[ETH_ALEN], __be32 ip)
{
	mac[0] = 0x0e;
	mac[1] = 0x00;
	__builtin_memcpy(&mac[2], &ip, 4);
}
