/* Shared includes, constants and packet-access helpers for every ebpfnet program. */
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* AF_INET from <sys/socket.h>, which the BPF target cannot include. */
#define EBPFNET_AF_INET 2

/* VXLAN UDP destination port assigned by IANA (RFC 7348 section 5). */
#define VXLAN_PORT 4789

/* Bytes VXLAN adds in front of the inner Ethernet header: outer IPv4 + UDP + VXLAN. */
#define VXLAN_OUTER_LEN (sizeof(struct iphdr) + sizeof(struct udphdr) + sizeof(struct vxlanhdr))

/* Bytes inserted after the outer MAC header on encapsulation: outer L3/L4 + inner Ethernet. */
#define VXLAN_ENCAP_LEN (VXLAN_OUTER_LEN + ETH_HLEN)

/* BPF_F_ADJ_ROOM_DECAP_L3_IPV4 from include/uapi/linux/bpf.h (Linux 6.3+); Debian 12's
 * linux-libc-dev predates it. */
#define EBPFNET_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)

/* VXLAN header (RFC 7348 section 5): flags (I bit 0x08), 24 reserved bits, VNI << 8. */
struct vxlanhdr {
	__be32 flags;
	__be32 vni;
};

#define VXLAN_FLAG_VNI bpf_htonl(0x08000000)

/* VXLAN Group Based Policy extension (draft-smith-vxlan-group-policy, the kernel's "gbp"): the
 * G flag and a 16-bit Group Policy ID in the low half of the flags word. ebpfnet carries the
 * sender's identity there, so the receiving host enforces policy by identity (Cilium carries
 * it in the VNI; GBP keeps the VNI a network id). */
#define VXLAN_FLAG_GBP bpf_htonl(0x80000000)
#define VXLAN_GBP_ID_MASK 0xffff

/* Returned by a stage that leaves the packet to the next stage: neither a tc verdict (0 to 8)
 * nor a negative drop reason (-enum metric), so the caller tells the three apart. */
#define NOT_MINE 0x100

/* True when [ptr, ptr+len) lies inside the linear packet data. */
#define PKT_HAS(ptr, len, end) ((void *)(ptr) + (len) <= (void *)(end))
