/* Networks (issue 14): several isolated networks, each with its own subnet and VNI (Docker's
 * overlay networks, Rancher 1.6's network resource). Subnets never overlap, so an address
 * names its network; the default network (id 0) is node_config's cluster CIDR and VNI and
 * needs no entry here, so it works before the agent fills these maps. */
#pragma once

#include "common.h"

/* Network flags (bits). VALID: written by the agent. INTERNAL: its endpoints reach nothing
 * outside the network (Docker's --internal). HOST_NAT, HOST_PORTS: masquerade and published
 * ports allowed (the agent enforces them per endpoint; shown for bpftool). NATIVE: routed
 * without encapsulation between hosts. */
enum network_flag : __u32 {
	NETWORK_F_VALID = 0x1,
	NETWORK_F_INTERNAL = 0x2,
	NETWORK_F_HOST_NAT = 0x4,
	NETWORK_F_HOST_PORTS = 0x8,
	NETWORK_F_NATIVE = 0x10,
};

/* A network, at its id (agent-allocated, 0 = default). */
struct network_info {
	__u32 vni;                /* VXLAN network identifier (24 bits), host byte order */
	enum network_flag flags;  /* NETWORK_F_* */
};

/* Key of network_subnets (LPM trie): prefix length in bits, then the IPv4 prefix in network
 * byte order. */
struct network_subnet_key {
	__u32 prefixlen;
	__be32 ip;
};

/* Value of network_subnets and network_vnis: a network id. */
struct network_ref {
	__u32 id;
};

/* Key of network_vnis: a VNI, host byte order. */
struct network_vni_key {
	__u32 vni;
};

#define MAX_NETWORKS 1024

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_NETWORKS);
	__type(key, __u32);
	__type(value, struct network_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} networks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_NETWORKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct network_subnet_key);
	__type(value, struct network_ref);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} network_subnets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NETWORKS);
	__type(key, struct network_vni_key);
	__type(value, struct network_ref);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} network_vnis SEC(".maps");

/* The id of the created network whose subnet holds ip (network order), -1 when none. */
static __always_inline int network_subnet_id(__be32 ip)
{
	struct network_subnet_key k = { .prefixlen = 32, .ip = ip };
	const struct network_ref *r = bpf_map_lookup_elem(&network_subnets, &k);

	return r ? (int)r->id : -1;
}
