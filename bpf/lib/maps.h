/* Map layouts shared by the Go agent (via bpf2go -type) and the programs.
 * Every field is documented with its byte order; all maps are pinned by name. */
#pragma once

#include "common.h"
#include "network_maps.h"

/* Key of the endpoints map: a local container's IPv4 address, network byte order. */
struct endpoint_key {
	__be32 ip;
};

/* Security identities (cf. Cilium's reserved identities, pkg/identity/numericidentity.go):
 * reserved ones below FIRST_LABEL_IDENTITY, label sets from it on. A fixed-size enum typing
 * the identity fields, so bpf2go exports the numbers to Go. */
enum identity : __u32 {
	IDENTITY_UNKNOWN = 0,        /* not known at this point */
	IDENTITY_CLUSTER = 3,        /* a cluster address whose endpoint identity is not known */
	IDENTITY_REMOTE_NODE = 6,    /* a peer host's underlay address (Cilium's remote-node) */
	FIRST_LABEL_IDENTITY = 256,  /* first identity of a label set */
};

/* Endpoint flags (bits). VALID: written by the agent (zeroed memory never looks like an
 * endpoint). HOST_NAT: masquerade its traffic to destinations outside the cluster (Rancher's
 * hostNat). PUBLISHED: at least one hostPort maps to it, so its replies are looked up for
 * reverse DNAT. */
enum endpoint_flag : __u16 {
	ENDPOINT_F_VALID = 0x1,
	ENDPOINT_F_HOST_NAT = 0x2,
	ENDPOINT_F_PUBLISHED = 0x4,
};

/* A container attached to this host (cf. Cilium's cilium_lxc endpoint_info). */
struct endpoint_info {
	__u32 ifindex;  /* host-side veth ifindex, host byte order */
	__u32 identity; /* security identity of the endpoint's label set */
	__u8 mac[6];    /* MAC of the container's eth0 */
	enum endpoint_flag flags; /* ENDPOINT_F_* bits */
};

/* Key of the ipcache LPM trie (cf. Cilium's cilium_ipcache): prefix length in bits, then the
 * IPv4 prefix in network byte order. */
struct ipcache_key {
	__u32 prefixlen;
	__be32 ip;
};

/* ipcache flags (bits). PLAIN_VXLAN: the peer is a plain VXLAN host: send no Group Policy
 * extension, whose G bit a kernel VXLAN device without "gbp" drops as an unknown flag. */
enum ipcache_flag : __u32 {
	IPCACHE_F_PLAIN_VXLAN = 0x1,
};

/* Where a remote prefix lives. */
struct ipcache_info {
	__be32 tunnel_endpoint; /* peer host underlay IPv4 (network order); 0 = this host */
	__u32 identity;         /* identity of the prefix, or a reserved identity (enum identity;
				 * not typed so: bpftool would name label identity 256 after
				 * FIRST_LABEL_IDENTITY) */
	enum ipcache_flag flags; /* IPCACHE_F_* */
};

/* Key of the peers map: a cluster host's underlay IPv4, network byte order. */
struct peer_key {
	__be32 ip;
};

/* Peer flags (bits). */
enum peer_flag : __u32 {
	PEER_F_VALID = 0x1,       /* written by the agent */
	PEER_F_PLAIN_VXLAN = 0x2, /* a plain kernel VXLAN host: no GBP, never encrypted */
	PEER_F_ENCRYPT = 0x4,     /* has a WireGuard key (set by the encryption work) */
};

/* A cluster host (etcd node record or `peer add --host`): the only outer sources whose VXLAN
 * from_overlay decapsulates. */
struct peer_info {
	enum peer_flag flags; /* PEER_F_* */
	__u32 pad;
};

/* Verdict of a policy entry and of the policy's default action. */
enum policy_verdict : __u8 {
	POLICY_DENY = 0,
	POLICY_ALLOW = 1,
};

/* This host's datapath parameters, one entry at key 0. */
struct node_params {
	__be32 underlay_ip;  /* this host's underlay IPv4, outer source of VXLAN packets */
	__u32 vni;           /* VXLAN network identifier (24 bits), host byte order */
	__be32 cluster_ip;   /* cluster CIDR network address */
	__be32 cluster_mask; /* cluster CIDR netmask */
	__u32 underlay_ifindex; /* underlay device, egress of encapsulated packets */
	__u8 router_mac[6];  /* MAC the host side answers with (ARP) and writes as source */
	__u16 pad;
	__be32 gateway_ip;   /* containers' gateway: source of self-hairpin traffic */
	__u16 nat_port_min;  /* masquerade source-port range, host byte order, inclusive */
	__u16 nat_port_max;
	__u8 policy_enforce; /* 1: network policy is enforced (any rule, or default deny) */
	enum policy_verdict policy_default; /* verdict when no policy entry matches */
	__u16 policy_rev;    /* policy revision, host order; its low bit is the generation of the
			      * policy map entries in force. With policy_enforce and
			      * policy_default in one aligned word, written by one map update: a
			      * policy swap is one flip. */
	__be16 wg_port;      /* WireGuard UDP port, network order */
	__u16 pad2;
	__u32 wg_ifindex;    /* WireGuard device; 0 = encryption off */
	__u16 mesh_port_min; /* this host's slice of the routing mesh's source ports, host byte */
	__u16 mesh_port_max; /* order, inclusive; min 0: the client's port is kept (lb_mesh_port.h) */
};

/* Per-CPU counters, keyed by enum metric (see metrics.h). */
struct metric_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipcache SEC(".maps");

/* The cluster hosts by underlay IPv4: the only outer sources from_overlay decapsulates, and
 * the addresses whose tunnel ports containers may not reach (lib/trust.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct peer_key);
	__type(value, struct peer_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

/* Named node_config, not config: "config" collides with a vmlinux.h typedef. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_params);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_config SEC(".maps");

/* The single node_config entry (never NULL for an array map in practice). */
static __always_inline const struct node_params *node_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&node_config, &zero);
}

/* True when ip (network order) is inside the cluster CIDR or another network's subnet. */
static __always_inline int in_cluster(const struct node_params *cfg, __be32 ip)
{
	return (ip & cfg->cluster_mask) == cfg->cluster_ip || network_subnet_id(ip) >= 0;
}

/* Identity of the ipcache prefix holding ip (network order), 0 when none. */
static __always_inline __u32 ipcache_identity(__be32 ip)
{
	struct ipcache_key k = { .prefixlen = 32, .ip = ip };
	struct ipcache_info *v = bpf_map_lookup_elem(&ipcache, &k);

	return v ? v->identity : 0;
}
