package agent

// The agent's side of cluster membership (package cluster): opening the store, joining and
// leaving, status, and the hooks the cluster loops call back.

import (
	"context"

	"github.com/ebpfnet/ebpfnet/agent/cluster"
	"github.com/ebpfnet/ebpfnet/api"
)

// clusterHooks is the agent as cluster.Agent.
type clusterHooks struct{ a *Agent }

// NodeRecord is this node's record without its name: underlay IP, pod CIDR, VTEP MAC and,
// with encryption, the WireGuard public key and port.
func (h clusterHooks) NodeRecord() api.NodeRecord {
	a := h.a
	rec := api.NodeRecord{UnderlayIP: a.node.UnderlayIP, PodCIDR: a.node.PodCIDR, VTEPMAC: a.node.RouterMAC}
	if key := a.wgPublicKey(); key != "" {
		rec.WGPublicKey, rec.WGPort = key, uint16(a.cfg.WireGuardPort)
	}
	return rec
}

func (h clusterHooks) Resync(ctx context.Context) error    { return h.a.resyncFromStore(ctx) }
func (h clusterHooks) Reconcile(ctx context.Context) error { return h.a.reconcile(ctx) }

// openStore opens the configured store; with etcd it also fixes the node's pod CIDR and
// sets a.cl (see cluster.Open).
func (a *Agent) openStore(ctx context.Context) error {
	var err error
	a.store, a.statePath, a.cl, err = cluster.Open(ctx, a.cfg.Store, a.cfg.StateDir, &a.node, clusterHooks{a}, a.log)
	return err
}

// joinCluster registers the node and starts the cluster loops. No-op for local.
func (a *Agent) joinCluster(ctx context.Context) error {
	if a.cl == nil {
		return nil
	}
	return a.cl.Join(ctx)
}

// leaveCluster stops the cluster loops. No-op for local.
func (a *Agent) leaveCluster() {
	if a.cl != nil {
		a.cl.Leave()
	}
}

// storeStatus fills the store block and object counts of st; a.mu is held. While the etcd
// store is known to be down it does not wait for it and reports the last known counts.
func (a *Agent) storeStatus(ctx context.Context, st *api.Status) error {
	if a.cl != nil {
		a.cl.Status(ctx, st)
		return nil
	}
	st.Store = api.StoreStatus{Kind: api.StoreLocal, Healthy: true}
	var err error
	st.Endpoints, st.Peers, err = cluster.Counts(ctx, a.store)
	return err
}

// Nodes lists the cluster's nodes (etcd store only, see cluster.Cluster.Nodes) with their
// WireGuard peer state. Errors: api.ErrUnsupported with the local store, api.ErrUnavailable
// while the store is unreachable.
func (a *Agent) Nodes(ctx context.Context) ([]api.NodeInfo, error) {
	if a.cl == nil {
		return nil, api.Errorf(api.ErrUnsupported, "this agent runs with --store local: it has no cluster nodes (start it with --store etcd)")
	}
	nodes, err := a.cl.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	a.addWireGuardPeers(nodes)
	return nodes, nil
}
