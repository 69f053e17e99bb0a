//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/* ebpfnet datapath: one program per attach point (cf. Cilium's bpf_lxc.c and bpf_overlay.c).
 *   from_container: tcx ingress of each container's host-side veth.
 *   from_overlay:   tcx ingress of the underlay device (VXLAN decapsulation). */

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/metrics.h"
#include "lib/eth.h"
#include "lib/ipv4.h"
#include "lib/arp.h"
#include "lib/vxlan.h"

char __license[] SEC("license") = "GPL";

/* Deliver skb to a local endpoint's eth0 from the ingress path: router MACs, then straight into
 * the peer veth's ingress (bpf_redirect_peer), skipping the host's backlog queue. */
static __always_inline int deliver_local(struct __sk_buff *skb, const struct node_params *cfg,
					 const struct endpoint_info *ep, enum metric m)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if (!PKT_HAS(eth, sizeof(*eth), end))
		return drop(skb, METRIC_DROP_INVALID);
	eth_rewrite(eth, cfg->router_mac, ep->mac);
	metric_add(m, skb->len);
	return bpf_redirect_peer(ep->ifindex, 0);
}

/* Route an IPv4 packet sent by a container: local endpoint, peer host, or host stack. */
static __always_inline int from_container_ipv4(struct __sk_buff *skb, const struct node_params *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct endpoint_key src, dst;
	struct endpoint_info *sep, *dep;
	struct ipcache_key ck = { .prefixlen = 32 };
	struct ipcache_info *remote;

	if (!PKT_HAS(ip, sizeof(*ip), end) || ip->ihl < 5)
		return drop(skb, METRIC_DROP_INVALID);

	/* A container may only send from the address it owns (anti-spoofing). */
	src.ip = ip->saddr;
	sep = bpf_map_lookup_elem(&endpoints, &src);
	if (!sep || sep->ifindex != skb->ifindex)
		return drop(skb, METRIC_DROP_SPOOFED_SOURCE);

	if (!in_cluster(cfg, ip->daddr)) {
		metric_add(METRIC_TO_HOST, skb->len);
		return TC_ACT_OK;
	}
	if (ip->ttl <= 1)
		return drop(skb, METRIC_DROP_TTL_EXCEEDED);

	dst.ip = ip->daddr;
	dep = bpf_map_lookup_elem(&endpoints, &dst);
	if (dep) {
		ipv4_dec_ttl(ip);
		return deliver_local(skb, cfg, dep, METRIC_FWD_LOCAL);
	}

	ck.ip = ip->daddr;
	remote = bpf_map_lookup_elem(&ipcache, &ck);
	if (!remote)
		return drop(skb, METRIC_DROP_NO_ROUTE);
	if (!remote->tunnel_endpoint)
		return drop(skb, METRIC_DROP_UNKNOWN_ENDPOINT);
	ipv4_dec_ttl(ip);
	return vxlan_encap(skb, cfg, remote->tunnel_endpoint);
}

SEC("tcx/ingress")
int from_container(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if (!cfg)
		return TC_ACT_OK;
	if (!PKT_HAS(eth, sizeof(*eth), end))
		return drop(skb, METRIC_DROP_INVALID);
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return arp_respond(skb, cfg);
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return from_container_ipv4(skb, cfg);
	metric_add(METRIC_TO_HOST, skb->len);
	return TC_ACT_OK;
}

SEC("tcx/ingress")
int from_overlay(struct __sk_buff *skb)
{
	const struct node_params *cfg = node_cfg();
	struct vxlan_rx rx = {};
	struct endpoint_key dst;
	struct endpoint_info *ep;
	int rc;

	if (!cfg)
		return TC_ACT_OK;
	rc = vxlan_parse(skb, cfg, &rx);
	if (rc == 0)
		return TC_ACT_OK; /* not VXLAN for us: the host stack's business */
	if (rc < 0)
		return drop(skb, (enum metric)-rc);
	if (rx.vni != cfg->vni)
		return drop(skb, METRIC_DROP_BAD_VNI);

	dst.ip = rx.inner_ip->daddr;
	ep = bpf_map_lookup_elem(&endpoints, &dst);
	if (!ep)
		return drop(skb, METRIC_DROP_UNKNOWN_ENDPOINT);
	if (vxlan_decap(skb))
		return drop(skb, METRIC_DROP_ENCAP_FAILED);
	return deliver_local(skb, cfg, ep, METRIC_FWD_DECAP);
}
