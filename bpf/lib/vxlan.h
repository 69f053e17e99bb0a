/* VXLAN (RFC 7348) encapsulation and decapsulation written in BPF: outer headers are built here
 * and the packet is redirected to the underlay device, no kernel VXLAN device involved. The
 * wire format is that of the kernel VXLAN driver, so plain VXLAN hosts interoperate. */
#pragma once

#include "metrics.h"
#include "eth.h"
#include "ipv4.h"
#include "fib.h"
#include "wireguard.h"

/* Everything in front of the inner IPv4 header after encapsulation. */
struct vxlan_encap_hdr {
	struct ethhdr outer_eth;
	struct iphdr ip;
	struct udphdr udp;
	struct vxlanhdr vx;
	struct ethhdr inner_eth;
} __attribute__((packed));

/* Source-port range for flow entropy: the kernel's default ip_local_port_range. */
#define VXLAN_SPORT_MIN 32768
#define VXLAN_SPORT_MAX 60999

#define ADJ_ROOM_ENCAP_FLAGS                                                                  \
	(BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP | \
	 BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN))

/* Spread flows over source ports like udp_flow_src_port() (RFC 7348 section 5). */
static __always_inline __be16 vxlan_sport(struct __sk_buff *skb)
{
	__u32 hash = bpf_get_hash_recalc(skb);

	return bpf_htons((__u16)((((__u64)hash * (VXLAN_SPORT_MAX - VXLAN_SPORT_MIN)) >> 32) +
				 VXLAN_SPORT_MIN));
}

/* Clamp a length to a 16-bit header field; GSO segmentation rewrites it per segment. */
static __always_inline __be16 len16(__u32 len)
{
	return bpf_htons(len > 0xffff ? 0xffff : len);
}

/* IPv4 total length of a packet of len bytes: 0 above 64 KiB, BIG TCP's convention
 * (iph_set_totlen, include/net/ip.h), which readers take as "the skb's length" for TCP GSO
 * packets (iph_totlen). A clamped 0xffff would make ip_rcv or br_netfilter trim the packet. */
static __always_inline __be16 ipv4_tot_len(__u32 len)
{
	return len > 0xffff ? 0 : bpf_htons(len);
}

/* Encapsulate the IPv4 packet in skb with vni (its network's) towards the VTEP remote
 * (network order) and send it: into
 * the WireGuard device when the peer is encrypted (wg_encap_mode; bpf_redirect to an L3 device
 * strips the outer MAC header, so it stays zero), else to the underlay next hop. A nonzero
 * identity goes in the GBP Group Policy ID. Returns the redirect verdict or a negative drop
 * reason. A subprogram: its frame (fib lookup and outer
 * headers) is never on the stack together with policy's, which keeps from_container under the
 * verifier's 512-byte combined stack limit. */
static __noinline int vxlan_encap(struct __sk_buff *skb, const struct node_params *cfg,
				  __be32 remote, __u32 identity, __u32 vni)
{
	struct bpf_fib_lookup fib = {};
	struct vxlan_encap_hdr h = {};
	struct iphdr ip = {};
	int rc = 0, encrypt = wg_encap_mode(cfg, remote);

	if (encrypt < 0)
		return encrypt;
	if (!encrypt) {
		rc = fib_next_hop(skb, cfg, cfg->underlay_ip, remote,
				  skb->len - ETH_HLEN + VXLAN_ENCAP_LEN, &fib);
		if (rc < 0)
			return rc;
		if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
			return -METRIC_DROP_NO_ROUTE; /* a peer VTEP that is this host */
	}

	h.udp.source = vxlan_sport(skb);
	if (bpf_skb_adjust_room(skb, VXLAN_ENCAP_LEN, BPF_ADJ_ROOM_MAC, ADJ_ROOM_ENCAP_FLAGS))
		return -METRIC_DROP_ENCAP_FAILED;

	__builtin_memcpy(h.outer_eth.h_source, fib.smac, ETH_ALEN);
	__builtin_memcpy(h.outer_eth.h_dest, fib.dmac, ETH_ALEN);
	h.outer_eth.h_proto = bpf_htons(ETH_P_IP);
	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.frag_off = bpf_htons(IP_FRAG_DF); /* DF: the MTU is checked here, never fragment */
	ip.protocol = IPPROTO_UDP;
	ip.tot_len = ipv4_tot_len(skb->len - ETH_HLEN);
	ip.saddr = cfg->underlay_ip;
	ip.daddr = remote;
	ip.check = ipv4_csum(&ip);
	h.ip = ip;
	h.udp.dest = bpf_htons(VXLAN_PORT);
	h.udp.len = len16(skb->len - ETH_HLEN - sizeof(struct iphdr));
	h.udp.check = 0; /* allowed for VXLAN over IPv4 (RFC 7348 section 5) */
	h.vx.flags = VXLAN_FLAG_VNI;
	if (identity)
		h.vx.flags |= VXLAN_FLAG_GBP | bpf_htonl(identity & VXLAN_GBP_ID_MASK);
	h.vx.vni = bpf_htonl(vni << 8);
	vtep_mac(h.inner_eth.h_dest, remote);
	__builtin_memcpy(h.inner_eth.h_source, cfg->router_mac, ETH_ALEN);
	h.inner_eth.h_proto = bpf_htons(ETH_P_IP);
	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0))
		return -METRIC_DROP_ENCAP_FAILED;

	metric_add(METRIC_FWD_ENCAP, skb->len);
	if (encrypt)
		return bpf_redirect(cfg->wg_ifindex, 0);
	return fib_redirect(&fib, rc);
}

/* Headers of a VXLAN packet addressed to this host, as parsed from the underlay. */
struct vxlan_rx {
	struct iphdr *inner_ip;
	__be32 outer_saddr; /* sending host's underlay IPv4, network order */
	__u32 vni;
	__u32 src_identity; /* from the GBP extension; 0 when absent */
};

/* Parse the frame in [data, end) as VXLAN to this host, context-free (from_overlay and the XDP
 * program both call it). Returns 1 when it is (and fills rx), 0 when the packet is not ours to
 * decapsulate (the host stack gets it), or -METRIC_DROP_INVALID for a malformed VXLAN packet
 * (no I flag, inner headers truncated, inner frame not IPv4). */
static __always_inline int vxlan_parse_hdrs(void *data, void *end, const struct node_params *cfg,
					    struct vxlan_rx *rx)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	struct vxlanhdr *vx;
	struct ethhdr *inner_eth;
	struct iphdr *inner_ip;

	if (!PKT_HAS(ip, sizeof(*ip), end) || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->daddr != cfg->underlay_ip || ip->protocol != IPPROTO_UDP || ip->ihl != 5 ||
	    ipv4_fragment(ip->frag_off))
		return 0;
	udp = (void *)(ip + 1);
	if (!PKT_HAS(udp, sizeof(*udp), end) || udp->dest != bpf_htons(VXLAN_PORT))
		return 0;
	vx = (void *)(udp + 1);
	inner_eth = (void *)(vx + 1);
	inner_ip = (void *)(inner_eth + 1);
	if (!PKT_HAS(inner_ip, sizeof(*inner_ip), end) || !(vx->flags & VXLAN_FLAG_VNI))
		return -METRIC_DROP_INVALID;
	if (inner_eth->h_proto != bpf_htons(ETH_P_IP) || inner_ip->ihl < 5)
		return -METRIC_DROP_INVALID;
	rx->inner_ip = inner_ip;
	rx->outer_saddr = ip->saddr;
	rx->vni = bpf_ntohl(vx->vni) >> 8;
	if (vx->flags & VXLAN_FLAG_GBP)
		rx->src_identity = bpf_ntohl(vx->flags) & VXLAN_GBP_ID_MASK;
	return 1;
}

/* Parse skb as VXLAN to this host (vxlan_parse_hdrs after pulling the headers into the linear
 * data). */
static __always_inline int vxlan_parse(struct __sk_buff *skb, const struct node_params *cfg,
				       struct vxlan_rx *rx)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	/* Pull only when the headers are not linear yet: a pull is a helper call and makes the
	 * skb writable (a copy when it is cloned) for every packet (Cilium's revalidate_data_pull). */
	if (!PKT_HAS(data, sizeof(struct vxlan_encap_hdr) + sizeof(struct iphdr), end)) {
		bpf_skb_pull_data(skb, sizeof(struct vxlan_encap_hdr) + sizeof(struct iphdr));
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
	}
	return vxlan_parse_hdrs(data, end, cfg, rx);
}

/* Strip outer IPv4/UDP/VXLAN and the inner Ethernet header, keeping the outer MAC header slot
 * for the caller to rewrite. GSO size stays that of the inner flow. Returns 0 or
 * -METRIC_DROP_ENCAP_FAILED. */
static __always_inline int vxlan_decap(struct __sk_buff *skb)
{
	if (bpf_skb_adjust_room(skb, -(__s32)VXLAN_ENCAP_LEN, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO | EBPFNET_ADJ_ROOM_DECAP_L3_IPV4))
		return -METRIC_DROP_ENCAP_FAILED;
	return 0;
}

/* Drop reason m of a VXLAN packet, returned after stripping its outer headers, so that its
 * drop event names the inner packet (the forged source), not the sending host. */
static __always_inline int vxlan_drop_decapped(struct __sk_buff *skb, enum metric m)
{
	int rc = vxlan_decap(skb);

	return rc < 0 ? rc : -(int)m;
}
