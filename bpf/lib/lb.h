/* Services: a virtual IP VIP:port/proto balanced over backends (endpoints on any host) with a
 * Maglev table per service computed by the agent (package lb), translated per packet in
 * from_container as Cilium's lb4 path (bpf/lib/lb.h): the chosen backend is kept in a
 * CT_SERVICE entry while it stays a backend, the translation and its reply reuse the DNAT of
 * published ports (dnat/dnat_reply, CT_DNAT_REPLY), so the backend sees the client's address. */
#pragma once

#include "lb_mesh_port.h"

/* Slots of each service's Maglev table: a prime, Cilium's default (lb.DefaultTableSize). */
#define LB_MAGLEV_SIZE 16381
/* Services the maps hold (ids 1..LB_SERVICES_MAX-1; 0 is never used). */
#define LB_SERVICES_MAX 4096

/* Service flags (bits). */
enum lb_flag : __u16 {
	LB_F_AFFINITY_CLIENT = 0x1, /* --affinity client-ip: the slot from the client address alone */
	LB_F_RANDOM = 0x2,          /* --lb random: a random slot per new connection */
};

struct lb_service_key {
	__be32 vip;  /* service IPv4, network order */
	__be16 port; /* service port, network order */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

struct lb_service {
	__u32 id;       /* index of its table in lb_maglev, host order */
	__u16 count;    /* backends; 0: answered with ICMP port unreachable */
	enum lb_flag flags; /* LB_F_* */
};

/* A backend of a service: its membership, checked before a connection keeps its backend. */
struct lb_backend_key {
	__u32 service_id; /* host order */
	__be32 ip;        /* backend endpoint IPv4, network order */
	__be16 port;      /* backend port, network order */
	__u16 pad;
};

struct lb_backend {
	__u32 flags; /* reserved (health), 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_SERVICES_MAX);
	__type(key, struct lb_service_key);
	__type(value, struct lb_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_backend_key);
	__type(value, struct lb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_backends SEC(".maps");

/* One Maglev table per service (cf. Cilium's cilium_lb4_maglev): slot -> backend IP:port
 * (zero: empty). The agent fills a new inner array and swaps it in with one update. */
struct lb_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, struct port_target);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LB_SERVICES_MAX);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct lb_maglev_table); /* last: a flexible array member */
} lb_maglev SEC(".maps");

/* The kernel's jhash_3words (include/linux/jhash.h, lookup3's final mix); lb.FlowHash in Go. */
static __always_inline __u32 lb_jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += 0xdeadbeef + 12 + initval;
	b += 0xdeadbeef + 12 + initval;
	c += 0xdeadbeef + 12 + initval;
	c ^= b; c -= (b << 14) | (b >> 18);
	a ^= c; a -= (c << 11) | (c >> 21);
	b ^= a; b -= (a << 25) | (a >> 7);
	c ^= b; c -= (b << 16) | (b >> 16);
	a ^= c; a -= (c << 4) | (c >> 28);
	b ^= a; b -= (a << 14) | (a >> 18);
	c ^= b; c -= (b << 24) | (b >> 8);
	return c;
}

/* The Maglev slot of a new connection f to svc: random, the client's hash (affinity) or the
 * 5-tuple's hash (lb.FlowHash, lb.ClientHash), modulo the table size. */
static __always_inline __u32 lb_slot(const struct lb_service *svc, const struct flow *f)
{
	__u32 h;

	if (svc->flags & LB_F_RANDOM)
		h = bpf_get_prandom_u32();
	else if (svc->flags & LB_F_AFFINITY_CLIENT)
		h = lb_jhash_3words(f->saddr, 0, 0, 0);
	else
		h = lb_jhash_3words(f->saddr, f->daddr, (__u32)f->sport | ((__u32)f->dport << 16), f->proto);
	return h % LB_MAGLEV_SIZE;
}

/* The backend of connection f to svc, in *t: the one its CT_SERVICE entry remembers while
 * that is still a backend of svc, else the Maglev choice (remembered). Returns 0 or a negative
 * drop reason. */
static __always_inline int lb_backend_of(const struct lb_service *svc, const struct flow *f,
					 struct port_target *t)
{
	struct ct_key k = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.proto = f->proto, .dir = CT_SERVICE,
	};
	struct ct_entry *e = bpf_map_lookup_elem(&ct, &k);
	struct lb_backend_key bk = { .service_id = svc->id };
	struct port_target *sel;
	struct ct_entry v = {};
	__u32 id = svc->id, slot;
	void *table;

	if (e) {
		bk.ip = e->addr;
		bk.port = e->port;
		if (bpf_map_lookup_elem(&lb_backends, &bk)) {
			ct_touch(e);
			t->ip = bk.ip;
			t->port = bk.port;
			return 0;
		}
	}
	table = bpf_map_lookup_elem(&lb_maglev, &id);
	if (!table)
		return -METRIC_DROP_NO_BACKEND;
	slot = lb_slot(svc, f);
	sel = bpf_map_lookup_elem(table, &slot);
	if (!sel || !sel->ip)
		return -METRIC_DROP_NO_BACKEND;
	t->ip = sel->ip;
	t->port = sel->port;
	if (!e && ct_quota_charge(f->saddr, 0, 1))
		return -METRIC_DROP_CT_QUOTA;
	v.last_seen = bpf_ktime_get_ns();
	v.addr = t->ip;
	v.port = t->port;
	if (bpf_map_update_elem(&ct, &k, &v, BPF_ANY))
		return -METRIC_DROP_CT_FULL;
	return 0;
}

/* The ICMP destination port unreachable (RFC 792: type 3, code 3) a service without backends
 * answers: a new IPv4 header from the service address, the ICMP header and the original IPv4
 * header plus its first 8 data bytes. */
struct lb_unreach {
	struct iphdr ip;
	struct icmp_echo_hdr icmp; /* type, code, checksum, 4 unused bytes */
	struct iphdr orig;
	__u8 orig_data[8];
};

/* Answer skb, a packet to a service without backends, with an ICMP port unreachable sent back
 * out of the device it came in on, MACs swapped (a container's veth, or the underlay for a
 * routing-mesh client): the client's connect() fails at once with ECONNREFUSED instead of
 * timing out. Counted as drop_no_backend. Packets with IP options
 * are dropped (reason drop_no_backend) unanswered. Returns a verdict or a negative drop reason. */
static __always_inline int lb_answer_unreachable(struct __sk_buff *skb)
{
	const __u32 len = ETH_HLEN + sizeof(struct lb_unreach);
	struct lb_unreach u = {};
	struct ethhdr *eth;
	void *data, *end;
	__u8 smac[ETH_ALEN], dmac[ETH_ALEN];

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &u.orig, sizeof(u.orig) + sizeof(u.orig_data)) ||
	    u.orig.ihl != 5)
		return -METRIC_DROP_NO_BACKEND;
	if (bpf_skb_change_tail(skb, len, 0) || skb->len != len)
		return -METRIC_DROP_NO_BACKEND;
	u.ip.version = 4;
	u.ip.ihl = 5;
	u.ip.tot_len = bpf_htons(sizeof(u));
	u.ip.ttl = 64;
	u.ip.protocol = IPPROTO_ICMP;
	u.ip.saddr = u.orig.daddr;
	u.ip.daddr = u.orig.saddr;
	u.ip.check = ipv4_csum(&u.ip);
	u.icmp.type = 3; /* destination unreachable */
	u.icmp.code = 3; /* port unreachable */
	u.icmp.checksum = csum_fold(bpf_csum_diff(0, 0, (__be32 *)&u.icmp,
						  sizeof(u) - sizeof(u.ip), 0));
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &u, sizeof(u), 0))
		return -METRIC_DROP_NO_BACKEND;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if (!PKT_HAS(eth, sizeof(*eth), end))
		return -METRIC_DROP_INVALID;
	__builtin_memcpy(smac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_source, ETH_ALEN);
	eth_rewrite(eth, smac, dmac);
	metric_add(METRIC_DROP_NO_BACKEND, skb->len);
	return bpf_redirect(skb->ifindex, 0);
}

/* Translate connection f to service svc to its backend (stored in *t), counted
 * forward_service; without a backend answer ICMP port unreachable. A routing-mesh connection
 * (mesh nonzero) also gets this host's mesh source port (lb_mesh_sport). Returns 0 when
 * translated, a verdict (the answer) or a negative drop reason. */
static __always_inline int lb_translate(struct __sk_buff *skb, const struct node_params *cfg,
					const struct flow *f, const struct lb_service *svc,
					struct port_target *t, int mesh)
{
	int rc = svc->count ? lb_backend_of(svc, f, t) : -METRIC_DROP_NO_BACKEND;

	if (rc == -METRIC_DROP_NO_BACKEND)
		return lb_answer_unreachable(skb);
	if (rc < 0)
		return rc;
	rc = mesh ? lb_mesh_sport(cfg, f, t) : f->sport;
	if (rc < 0)
		return rc;
	rc = dnat(skb, cfg, f, t, (__be16)rc);
	if (rc < 0)
		return rc;
	metric_add(METRIC_FWD_SERVICE, skb->len);
	return 0;
}

/* A container's packet to a service VIP:port, or to a routing-mesh port of an address of this
 * host (another host's address is reached as from outside, masqueraded): translated to a
 * backend (its address stored in *daddr), so the caller routes it on like a packet sent to the
 * backend (policy of the backend's identity, local delivery or encapsulation). Returns 0 when translated, NOT_MINE
 * when the destination is no service, a verdict (the no-backend answer) or a negative drop
 * reason. A subprogram: from_container is near the stack limit. */
static __noinline int lb_service_xlate(struct __sk_buff *skb, const struct node_params *cfg,
				       __be32 *daddr)
{
	struct lb_service_key sk = {};
	struct lb_service *svc;
	struct port_target t = {};
	struct flow f = {};
	int rc;

	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP)
		return NOT_MINE;
	sk.vip = f.daddr;
	sk.port = f.dport;
	sk.proto = f.proto;
	svc = bpf_map_lookup_elem(&lb_services, &sk);
	if (!svc) { /* a routing-mesh port of this host's own address (hairpin) */
		sk.vip = 0;
		svc = bpf_map_lookup_elem(&lb_services, &sk);
		if (!svc || ipv4_loopback(f.daddr) || !host_local(skb, cfg, f.daddr))
			return NOT_MINE;
	}
	rc = lb_translate(skb, cfg, &f, svc, &t, !sk.vip);
	if (rc == 0)
		*daddr = t.ip;
	return rc;
}

/* Restore VIP:port as the source of a service backend's reply that came through the overlay
 * to its client on this host (the translation was made here, in lb_service_xlate). Returns 0
 * (translated or not a reply) or a negative drop reason. */
static __noinline int lb_reply(struct __sk_buff *skb)
{
	struct flow f = {};
	__be32 client;
	int rc;

	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP)
		return 0;
	rc = dnat_reply(skb, &f, &client);
	return rc < 0 ? rc : 0;
}
