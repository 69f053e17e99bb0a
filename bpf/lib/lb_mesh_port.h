/* The routing mesh's source-port translation. A client may reach one backend from the same
 * address and source port through two entry hosts (Linux picks source ports per destination),
 * which the backend would see as ONE 4-tuple: the older connection breaks, a new SYN meets an
 * established socket's challenge ACK. So each entry host rewrites the client's source port
 * to one of its own slice of the mesh port range (node_params.mesh_port_min/max, a slice per
 * node slot of the cluster CIDR, agent --mesh-port-range), allocated like a masquerade port
 * (snat_port: random start, linear probing for a free reply tuple): flows through different
 * hosts never share a tuple at a backend, and within a host ct keeps them apart. The client's
 * address is kept. Cilium's DSR keeps the port and can collide the same way; Docker's mesh
 * SNATs the address away (moby/moby#25526). */
#pragma once

#include "nat.h"

/* Mesh source ports tried before giving up on a flow (as NAT_PORT_TRIES). */
#define MESH_PORT_TRIES 32
/* How long after its close a flow's mesh port may go to another flow: Linux reuses a
 * TIME_WAIT port for a new connection after 1 s the same way (tcp_tw_reuse_delay,
 * tcp_twsk_unique in net/ipv4/tcp_ipv4.c), the backend's TIME_WAIT socket accepting the new
 * SYN by its newer timestamp (RFC 6191). Without it a slice would hold every port of a
 * closed connection until ct expiry (6 h for TCP). */
#define MESH_PORT_REUSE_NS 1000000000ULL

/* Whether CT_DNAT_REPLY entry e (NULL: none) belongs to another flow whose TCP connection
 * closed at least MESH_PORT_REUSE_NS ago (ct_track_close), so its port may be taken over. */
static __always_inline int lb_mesh_port_free(const struct ct_entry *e)
{
	const __u16 closed = CT_F_FIN_CLIENT | CT_F_FIN_TARGET;

	return e && (e->flags & closed) == closed &&
	       bpf_ktime_get_ns() - e->last_seen >= MESH_PORT_REUSE_NS;
}

/* Whether CT_DNAT_REPLY entry e (NULL: none) translates for the flow whose entry is v. */
static __always_inline int lb_mesh_port_ours(const struct ct_entry *e, const struct ct_entry *v)
{
	return e && e->addr == v->addr && e->port == v->port && e->mesh_sport == v->mesh_sport;
}

/* The source port mesh flow f (its CT_SERVICE entry just made or kept by lb_backend_of) shows
 * to its backend t: the one its CT_SERVICE entry remembers while that port's reply entry is
 * still the flow's (its own port for a flow an older build translated), else a port of this
 * host's slice whose CT_DNAT_REPLY tuple is free or closed long enough (lb_mesh_port_free),
 * that entry written here (dnat then finds and keeps it). Without a slice (mesh_port_min 0, a
 * node_config of an older build) the client's own port. Returns the port (network order) or
 * a negative drop reason (drop_nat_exhausted when MESH_PORT_TRIES candidates are taken). A
 * subprogram: its callers are near the stack limit. */
static __noinline int lb_mesh_sport(const struct node_params *cfg, const struct flow *f,
				    const struct port_target *t)
{
	__u32 min = cfg->mesh_port_min, range = (__u32)cfg->mesh_port_max - min + 1;
	__u32 start = bpf_get_prandom_u32();
	struct ct_entry v, *flow, *e;
	struct ct_key rk = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.proto = f->proto, .dir = CT_SERVICE,
	};
	__be16 p;
	int i, err;

	if (!min)
		return f->sport;
	flow = bpf_map_lookup_elem(&ct, &rk); /* rk: the flow's CT_SERVICE key, then reply keys */
	if (!flow)
		return -METRIC_DROP_CT_FULL;
	p = flow->mesh_sport;
	if (p) {
		dnat_entry(cfg, f, t, p, &rk, &v);
		e = bpf_map_lookup_elem(&ct, &rk);
		if (!e || lb_mesh_port_ours(e, &v)) /* gone (expired): dnat writes it again */
			return p;
	} else { /* a flow translated before the slices (an older build) keeps its port */
		dnat_entry(cfg, f, t, f->sport, &rk, &v);
		if (lb_mesh_port_ours(bpf_map_lookup_elem(&ct, &rk), &v)) {
			flow->mesh_sport = f->sport;
			return f->sport;
		}
	}
	if (cfg->mesh_port_max < min)
		return -METRIC_DROP_NAT_EXHAUSTED;
	err = ct_quota_charge(t->ip, 0, 1); /* the reply entry written below */
	if (err)
		return err;
	for (i = 0; i < MESH_PORT_TRIES; i++) {
		p = bpf_htons((__u16)(min + (start + i) % range));
		dnat_entry(cfg, f, t, p, &rk, &v);
		err = ct_claim(&rk, &v);
		if (err == 1 && lb_mesh_port_free(bpf_map_lookup_elem(&ct, &rk)))
			err = bpf_map_update_elem(&ct, &rk, &v, BPF_EXIST) ? 1 : 0;
		if (err < 0)
			return err;
		if (err == 0)
			break;
	}
	if (i == MESH_PORT_TRIES)
		return -METRIC_DROP_NAT_EXHAUSTED;
	flow->mesh_sport = p;
	return p;
}
