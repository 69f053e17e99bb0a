/* Published ports: hostIP:hostPort/proto -> container IP:port, read per packet so a remapped
 * port moves existing flows at once (no cached DNAT target). */
#pragma once

#include "maps.h"

struct port_key {
	__be32 host_ip; /* 0 = every host address (the underlay IP) */
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

/* The target of daddr:dport/proto: an entry for that exact host IP first, then a wildcard
 * entry when daddr is the host's underlay IP. */
static __always_inline struct port_target *published_lookup(const struct node_params *cfg,
							    __be32 daddr, __be16 dport, __u8 proto)
{
	struct port_key k = { .host_ip = daddr, .port = dport, .proto = proto };
	struct port_target *t = bpf_map_lookup_elem(&published, &k);

	if (t || daddr != cfg->underlay_ip)
		return t;
	k.host_ip = 0;
	return bpf_map_lookup_elem(&published, &k);
}
