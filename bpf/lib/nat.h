/* Host NAT (masquerade) and port publishing (DNAT) on top of the ct table. */
#pragma once

#include "ct.h"
#include "ct_quota.h"
#include "flow.h"
#include "ports.h"

/* Masquerade port candidates tried before giving up on a destination. */
#define NAT_PORT_TRIES 32

/* Record in e a TCP close seen in a packet with flags tcp (lib/flow.h FLOW_TCP_*) sent by
 * the side whose FIN bit is fin (CT_F_FIN_CLIENT or CT_F_FIN_TARGET): a RST closes both
 * sides, a client's bare SYN (a new connection on the same tuple) reopens it. The close time
 * goes into last_seen, so a closed flow's tuple may be reused a while later (lb_mesh_port.h). */
static __always_inline void ct_track_close(struct ct_entry *e, __u8 tcp, enum ct_flag fin)
{
	const __u16 closed = CT_F_FIN_CLIENT | CT_F_FIN_TARGET;
	__u16 flags = e->flags;

	if (tcp & FLOW_TCP_RST)
		flags |= closed;
	else if (tcp & FLOW_TCP_FIN)
		flags |= fin;
	else if (fin == CT_F_FIN_CLIENT && (tcp & (FLOW_TCP_SYN | FLOW_TCP_ACK)) == FLOW_TCP_SYN)
		flags &= ~closed;
	if (flags == e->flags)
		return;
	e->flags = flags;
	if ((flags & closed) == closed)
		e->last_seen = bpf_ktime_get_ns();
}

/* The masquerade port of flow f, allocating one on its first packet: a random start in
 * [nat_port_min, nat_port_max], then linear probing for a port whose reply tuple is free (and
 * not a published, VXLAN or WireGuard port). Returns the port (network order) or a negative drop reason. */
static __always_inline int snat_port(const struct node_params *cfg, const struct flow *f)
{
	struct ct_key out = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.proto = f->proto, .dir = CT_SNAT_OUT,
	};
	struct ct_key in = {
		.saddr = f->daddr, .daddr = cfg->underlay_ip, .sport = f->dport,
		.proto = f->proto, .dir = CT_SNAT_IN,
	};
	struct ct_entry rev = { .last_seen = bpf_ktime_get_ns(), .addr = f->saddr, .port = f->sport };
	struct ct_entry fwd = { .last_seen = rev.last_seen, .addr = cfg->underlay_ip };
	struct ct_entry *e = bpf_map_lookup_elem(&ct, &out);
	__u32 range = (__u32)cfg->nat_port_max - cfg->nat_port_min + 1;
	__u32 start = bpf_get_prandom_u32();
	int i, err;

	if (e) {
		ct_touch(e);
		return e->port;
	}
	if (cfg->nat_port_max < cfg->nat_port_min)
		return -METRIC_DROP_NAT_EXHAUSTED;
	err = ct_quota_charge(f->saddr, 0, 2); /* the two entries below */
	if (err)
		return err;
	for (i = 0; i < NAT_PORT_TRIES; i++) {
		__be16 p = bpf_htons((__u16)(cfg->nat_port_min + (start + i) % range));

		in.dport = p;
		if (f->proto == IPPROTO_ICMP)
			in.sport = p; /* echo replies carry the id in both "port" slots */
		/* A reply to the VXLAN or WireGuard port would be taken for tunnel traffic. */
		if (f->proto != IPPROTO_ICMP &&
		    (p == bpf_htons(VXLAN_PORT) || p == cfg->wg_port ||
		     published_entry(cfg->underlay_ip, p, f->proto)))
			continue;
		err = ct_claim(&in, &rev);
		if (err < 0)
			return err;
		if (err == 0)
			break;
	}
	if (i == NAT_PORT_TRIES)
		return -METRIC_DROP_NAT_EXHAUSTED;
	fwd.port = in.dport;
	if (bpf_map_update_elem(&ct, &out, &fwd, BPF_NOEXIST)) {
		bpf_map_delete_elem(&ct, &in);
		return -METRIC_DROP_CT_FULL;
	}
	return in.dport;
}

/* Whether a container packet f (zeroed when unparsable) to outside the cluster is masqueraded:
 * a TCP, UDP or ICMP echo request of a hostNat endpoint not addressed to this host. */
static __always_inline int snat_wanted(const struct node_params *cfg, const struct flow *f,
				       __u16 ep_flags)
{
	if (!(ep_flags & ENDPOINT_F_HOST_NAT) || !f->proto || f->daddr == cfg->underlay_ip)
		return 0;
	return f->proto != IPPROTO_ICMP || f->icmp_type == ICMP_ECHO;
}

/* Masquerade f's packet: source becomes the underlay IP and the flow's NAT port. Returns 0 or
 * a negative drop reason. A subprogram: from_container is near the stack limit. */
static __noinline int snat_egress(struct __sk_buff *skb, const struct node_params *cfg,
				  const struct flow *f)
{
	int port = snat_port(cfg, f);

	if (port < 0)
		return port;
	if (flow_set_addr(skb, f, IP_SADDR_OFF, f->saddr, cfg->underlay_ip) ||
	    flow_set_port(skb, f, f->sport_off, f->sport, (__be16)port))
		return -METRIC_DROP_INVALID;
	return 0;
}

/* Reverse-translate a reply to a masqueraded flow. Returns 1 when f was one (its destination,
 * stored in *to, is now the container), 0 when not, or a negative drop reason. */
static __always_inline int snat_reply(struct __sk_buff *skb, const struct flow *f, __be32 *to)
{
	struct ct_key in = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.proto = f->proto, .dir = CT_SNAT_IN,
	};
	struct ct_entry *e;
	__be32 addr;
	__be16 port;

	if (f->proto == IPPROTO_ICMP && f->icmp_type != ICMP_ECHOREPLY)
		return 0;
	e = bpf_map_lookup_elem(&ct, &in);
	if (!e)
		return 0;
	ct_touch(e);
	addr = e->addr;
	port = e->port;
	if (flow_set_addr(skb, f, IP_DADDR_OFF, f->daddr, addr) ||
	    flow_set_port(skb, f, f->dport_off, f->dport, port))
		return -METRIC_DROP_INVALID;
	*to = addr;
	return 1;
}

/* The CT_DNAT_REPLY key rk of flow f translated to target t with source port sport (f's own,
 * or the routing mesh's, lib/lb_mesh_port.h), as the target's replies carry it, and the entry
 * v that restores f's view. A client that is the target itself (self-hairpin) or the host on
 * a loopback address is given the gateway as source, or the container would drop a packet
 * from its own address or answer 127.0.0.1 into its own loopback (portmap masquerades
 * localhost for the same reason). */
static __always_inline void dnat_entry(const struct node_params *cfg, const struct flow *f,
				       const struct port_target *t, __be16 sport,
				       struct ct_key *rk, struct ct_entry *v)
{
	int hairpin = f->saddr == t->ip || ipv4_loopback(f->saddr);

	rk->saddr = t->ip;
	rk->daddr = hairpin ? cfg->gateway_ip : f->saddr;
	rk->sport = t->port;
	rk->dport = sport;
	rk->proto = f->proto;
	rk->dir = CT_DNAT_REPLY;
	rk->pad = 0;
	v->last_seen = bpf_ktime_get_ns();
	v->addr = f->daddr;
	v->orig_addr = hairpin ? f->saddr : 0;
	v->port = f->dport;
	v->flags = hairpin ? CT_F_HAIRPIN : 0;
	v->policy_rev = 0;
	v->mesh_sport = sport == f->sport ? 0 : f->sport;
}

/* Translate a packet for a published port (or a service) to its container target t, source
 * port sport (f's own, or the routing mesh's: see dnat_entry), remembering how to translate
 * the replies. Returns 0 or a negative drop reason. A subprogram: its callers are near the
 * stack limit. */
static __noinline int dnat(struct __sk_buff *skb, const struct node_params *cfg,
			   const struct flow *f, const struct port_target *t, __be16 sport)
{
	__be32 tip = t->ip;
	__be16 tport = t->port;
	struct ct_key rk;
	struct ct_entry v, *e;

	dnat_entry(cfg, f, t, sport, &rk, &v);
	e = bpf_map_lookup_elem(&ct, &rk);
	if (e && e->addr == v.addr && e->port == v.port && e->mesh_sport == v.mesh_sport) {
		ct_touch(e);
		ct_track_close(e, flow_tcp_flags(skb, f), CT_F_FIN_CLIENT);
	} else {
		if (!e && ct_quota_charge(tip, 0, 1))
			return -METRIC_DROP_CT_QUOTA;
		if (bpf_map_update_elem(&ct, &rk, &v, BPF_ANY))
			return -METRIC_DROP_CT_FULL;
	}
	if (flow_set_addr(skb, f, IP_DADDR_OFF, f->daddr, tip) ||
	    flow_set_port(skb, f, f->dport_off, f->dport, tport))
		return -METRIC_DROP_INVALID;
	if ((v.flags & CT_F_HAIRPIN) && flow_set_addr(skb, f, IP_SADDR_OFF, f->saddr, cfg->gateway_ip))
		return -METRIC_DROP_INVALID;
	if (sport != f->sport && flow_set_port(skb, f, f->sport_off, f->sport, sport))
		return -METRIC_DROP_INVALID;
	return 0;
}

/* Restore the published hostIP:hostPort as the source of a reply from a published container
 * (and a routing-mesh client's own source port as its destination).
 * Returns 1 when f was such a reply (its destination, the client, stored in *to), 0 when not,
 * or a negative drop reason. A subprogram: from_container is near the stack limit. */
static __noinline int dnat_reply(struct __sk_buff *skb, const struct flow *f, __be32 *to)
{
	struct ct_key rk = {
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.proto = f->proto, .dir = CT_DNAT_REPLY,
	};
	struct ct_entry *e = bpf_map_lookup_elem(&ct, &rk);
	__be32 addr, orig;
	__be16 port, client_port;
	__u16 flags;

	if (!e)
		return 0;
	ct_touch(e);
	ct_track_close(e, flow_tcp_flags(skb, f), CT_F_FIN_TARGET);
	addr = e->addr;
	orig = e->orig_addr;
	port = e->port;
	flags = e->flags;
	client_port = e->mesh_sport;
	if ((flags & CT_F_HAIRPIN) && flow_set_addr(skb, f, IP_DADDR_OFF, f->daddr, orig))
		return -METRIC_DROP_INVALID;
	if (client_port && flow_set_port(skb, f, f->dport_off, f->dport, client_port))
		return -METRIC_DROP_INVALID;
	if (flow_set_addr(skb, f, IP_SADDR_OFF, f->saddr, addr) ||
	    flow_set_port(skb, f, f->sport_off, f->sport, port))
		return -METRIC_DROP_INVALID;
	*to = (flags & CT_F_HAIRPIN) ? orig : f->daddr;
	return 1;
}
