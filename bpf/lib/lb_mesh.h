/* The routing mesh (`service add --publish PORT`): the port answers on every local address of
 * every host. The entry host picks the backend (Maglev, as for the VIP) and DNATs to it
 * (CT_SERVICE, CT_DNAT_REPLY), then delivers or encapsulates to the backend's host; the client
 * address is kept, its source port becomes one of the entry host's own slice of the mesh port
 * range (lib/lb_mesh_port.h: flows through two hosts are never one tuple at a backend). The
 * backend's host accepts that one kind of inner packet from outside the cluster (a peer's
 * VXLAN to a local mesh backend), records which host it came through (CT_MESH) and sends the
 * replies back to that host inside the tunnel, where the DNAT is undone and the reply routed
 * out from hostIP:PORT to the client's own port. Stateful at both ends rather than direct
 * server return: the client's view (which host address and port it dialed) lives only on the
 * entry host, and only the entry host may answer from that address. */
#pragma once

#include "lb.h"

/* The key of kind dir of a backend's side of flow f, as the backend sends: f itself (a reply)
 * or, for a packet to the backend, f reversed. */
static __always_inline void lb_backend_key(const struct flow *f, int to_backend, enum ct_dir dir,
					   struct ct_key *k)
{
	if (to_backend) {
		k->saddr = f->daddr;
		k->daddr = f->saddr;
		k->sport = f->dport;
		k->dport = f->sport;
	} else {
		k->saddr = f->saddr;
		k->daddr = f->daddr;
		k->sport = f->sport;
		k->dport = f->dport;
	}
	k->proto = f->proto;
	k->dir = dir;
}

/* A packet from outside the cluster to a mesh port of a local address: translated to its
 * backend, whose address is stored in *backend, from this host's mesh source port
 * (lib/lb_mesh_port.h). Returns 0 when translated, NOT_MINE when no mesh port, a verdict (the
 * no-backend answer) or a negative drop reason. A 127.0.0.0/8 destination counts only on
 * loopback ingress, the host's own connections (from_host); from the wire it is never
 * translated (CVE-2020-8558). */
static __noinline int lb_mesh_in(struct __sk_buff *skb, const struct node_params *cfg,
				 __be32 *backend)
{
	struct lb_service_key sk = {};
	struct lb_service *svc;
	struct port_target t = {};
	struct flow f = {};
	int rc;

	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP ||
	    (ipv4_loopback(f.daddr) && skb->ingress_ifindex != LOOPBACK_IFINDEX))
		return NOT_MINE;
	sk.port = f.dport; /* vip 0: the mesh entry */
	sk.proto = f.proto;
	svc = bpf_map_lookup_elem(&lb_services, &sk);
	if (!svc || !host_local(skb, cfg, f.daddr))
		return NOT_MINE;
	rc = lb_translate(skb, cfg, &f, svc, &t, 1);
	if (rc)
		return rc;
	*backend = t.ip;
	return 0;
}

/* Whether flow f goes to a local mesh backend (lb_backends entry of service 0). */
static __always_inline int lb_mesh_backend(const struct flow *f)
{
	struct lb_backend_key bk = { .ip = f->daddr, .port = f->dport };

	return bpf_map_lookup_elem(&lb_backends, &bk) != NULL;
}

/* Track mesh flow f (as the backend receives it) as come through the entry host outer
 * (CT_MESH). Entry hosts' source-port slices are disjoint (lib/lb_mesh_port.h), so another
 * host's entry, or this host's own translation (CT_DNAT_REPLY), of the same 4-tuple is stale
 * or comes from overlapping slices (no --pod-cidr, differing --mesh-port-range): the newest
 * flow wins. Returns 0 or a negative drop reason. */
static __always_inline int lb_mesh_track(const struct flow *f, __be32 outer)
{
	struct ct_key k = {};
	struct ct_entry v = {};
	struct ct_entry *e;

	lb_backend_key(f, 1, CT_MESH, &k);
	e = bpf_map_lookup_elem(&ct, &k);
	if (e && e->addr == outer) {
		ct_touch(e);
	} else {
		struct ct_key old = {};

		/* The newest flow of this 4-tuple comes through outer. */
		lb_backend_key(f, 1, CT_DNAT_REPLY, &old);
		bpf_map_delete_elem(&ct, &old);
		if (!e && ct_quota_charge(f->daddr, 0, 1))
			return -METRIC_DROP_CT_QUOTA;
		v.last_seen = bpf_ktime_get_ns();
		v.addr = outer;
		if (bpf_map_update_elem(&ct, &k, &v, BPF_ANY))
			return -METRIC_DROP_CT_FULL;
	}
	return 0;
}

/* A peer's VXLAN whose inner source is no endpoint of that peer (skb still encapsulated, outer
 * source outer): accepted, decapsulated, only as a mesh flow from outside the cluster to a
 * local mesh backend (lb_backends entry of service 0), whose entry host is remembered in
 * CT_MESH; its destination, the backend, is stored in *to. Returns 0 or a negative drop
 * reason (drop_spoofed_source for anything else, decapsulated so the event names it). */
static __noinline int lb_mesh_rx(struct __sk_buff *skb, const struct node_params *cfg,
				 __be32 outer, __be32 *to)
{
	struct flow f = {};
	int rc = vxlan_decap(skb);

	if (rc < 0)
		return rc;
	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP || in_cluster(cfg, f.saddr) ||
	    !lb_mesh_backend(&f))
		return -METRIC_DROP_SPOOFED_SOURCE;
	rc = lb_mesh_track(&f, outer);
	if (rc < 0)
		return rc;
	*to = f.daddr;
	return 0;
}

/* A peer host's own mesh connection to a local mesh backend (skb decapsulated, inner source
 * that host's address, the remote-node entry): its replies must go back inside the tunnel to
 * be translated there, not be routed to that address, so the flow is tracked (CT_MESH) as a
 * client's from outside. Other packets are left alone. Returns 0 or a negative drop reason. */
static __noinline int lb_mesh_rx_host(struct __sk_buff *skb, __be32 outer)
{
	struct flow f = {};

	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP || f.saddr != outer || !lb_mesh_backend(&f))
		return 0;
	return lb_mesh_track(&f, outer);
}

/* The entry host of a local mesh backend's reply (CT_MESH), to encapsulate it back to; 0 when
 * skb is no such reply. */
static __noinline __u32 lb_mesh_return(struct __sk_buff *skb)
{
	struct ct_key k = {};
	struct ct_entry *e;
	struct flow f = {};

	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP)
		return 0;
	lb_backend_key(&f, 0, CT_MESH, &k);
	e = bpf_map_lookup_elem(&ct, &k);
	if (!e)
		return 0;
	ct_touch(e);
	return e->addr;
}

/* A remote backend's reply to a mesh client, come back through the tunnel (skb still
 * encapsulated): decapsulated, hostIP:PORT restored as its source (CT_DNAT_REPLY made by
 * lb_mesh_in); the client, outside the cluster, stored in *client. Returns 0 or a negative drop
 * reason (drop_unknown_endpoint when it is no such reply). */
static __noinline int lb_mesh_reply(struct __sk_buff *skb, __be32 *client)
{
	struct flow f = {};
	int rc = vxlan_decap(skb);

	if (rc < 0)
		return rc;
	if (!flow_parse(skb, &f) || f.proto == IPPROTO_ICMP)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	rc = dnat_reply(skb, &f, client);
	if (rc == 0)
		return -METRIC_DROP_UNKNOWN_ENDPOINT;
	return rc < 0 ? rc : 0;
}
