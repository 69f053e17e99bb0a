/* Published ports: hostIP:hostPort/proto -> container IP:port, read per packet so a remapped
 * port moves existing flows at once (no cached DNAT target). */
#pragma once

#include "maps.h"
#include "fib.h"

struct port_key {
	__be32 host_ip; /* 0 = every local address of the host (host_local) */
	__be16 port;    /* hostPort, network order */
	__u8 proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

struct port_target {
	__be32 ip;   /* container IPv4 */
	__be16 port; /* container port, network order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct port_key);
	__type(value, struct port_target);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} published SEC(".maps");

/* Packet types of __sk_buff.pkt_type for link-layer broadcast and multicast frames
 * (PACKET_BROADCAST, PACKET_MULTICAST, include/uapi/linux/if_packet.h). */
#define EBPFNET_PACKET_BROADCAST 1
#define EBPFNET_PACKET_MULTICAST 2

/* Whether daddr is in 127.0.0.0/8 (ipv4_is_loopback, include/linux/in.h). */
static __always_inline int ipv4_loopback(__be32 daddr)
{
	return (bpf_ntohl(daddr) >> 24) == 127;
}

/* Whether daddr is a unicast address of this host, as the kernel's own input route lookup
 * sees it (a local route: RTN_LOCAL gives BPF_FIB_LKUP_RET_NOT_FWDED), so a wildcard published
 * port answers on every local address like Docker's and portmap's `-m addrtype --dst-type
 * LOCAL` DNAT: loopback, the underlay IP, secondary addresses, other devices' addresses.
 * Broadcast and multicast, which the lookup does not tell from local, are excluded by address
 * and by the frame's link-layer type. The lookup is as if received on the underlay, whose
 * forwarding the agent turns on (the helper refuses devices without it). */
static __always_inline int host_local(struct __sk_buff *skb, const struct node_params *cfg, __be32 daddr)
{
	struct bpf_fib_lookup fib = {
		.family = EBPFNET_AF_INET,
		.ifindex = cfg->underlay_ifindex,
		.ipv4_dst = daddr,
	};

	if (daddr == cfg->underlay_ip)
		return 1;
	if (skb->pkt_type == EBPFNET_PACKET_BROADCAST || skb->pkt_type == EBPFNET_PACKET_MULTICAST ||
	    (bpf_ntohl(daddr) >> 28) == 0xe || daddr == 0xffffffff)
		return 0;
	return bpf_fib_lookup(skb, &fib, sizeof(fib), 0) == BPF_FIB_LKUP_RET_NOT_FWDED;
}

/* The entry of host_ip:dport/proto, else the wildcard entry of dport/proto, without asking
 * whether host_ip is local (callers that know it is: the underlay IP). */
static __always_inline struct port_target *published_entry(__be32 host_ip, __be16 dport, __u8 proto)
{
	struct port_key k = { .host_ip = host_ip, .port = dport, .proto = proto };
	struct port_target *t = bpf_map_lookup_elem(&published, &k);

	if (t)
		return t;
	k.host_ip = 0;
	return bpf_map_lookup_elem(&published, &k);
}

/* The target of a packet to daddr:dport/proto: an entry for that exact host IP, else a
 * wildcard entry when daddr is any local address of this host (host_local). A loopback
 * destination counts only on loopback ingress, the host's own connections: from any other
 * device it is a martian the kernel would drop and must not reach a container
 * (CVE-2020-8558, kube-proxy's route_localnet). */
static __always_inline struct port_target *published_lookup(struct __sk_buff *skb, const struct node_params *cfg,
							    __be32 daddr, __be16 dport, __u8 proto)
{
	struct port_key k = { .host_ip = daddr, .port = dport, .proto = proto };
	struct port_target *t;

	if (ipv4_loopback(daddr) && skb->ingress_ifindex != LOOPBACK_IFINDEX)
		return NULL;
	t = bpf_map_lookup_elem(&published, &k);
	if (t)
		return t;
	k.host_ip = 0;
	t = bpf_map_lookup_elem(&published, &k);
	if (!t || !host_local(skb, cfg, daddr))
		return NULL;
	return t;
}
