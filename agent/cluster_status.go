package agent

// What the API reports about the cluster store and its nodes.

import (
	"context"
	"fmt"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// refreshCounts updates the counts Status reports while the store is down.
func (a *Agent) refreshCounts(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var st api.Status
	_ = a.storeStatus(ctx, &st)
}

// storeCounts counts the endpoints and peers the store holds for this node.
func (a *Agent) storeCounts(ctx context.Context) (endpoints, peers int, err error) {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return 0, 0, err
	}
	ps, err := a.store.Peers(ctx)
	return len(eps), len(ps), err
}

// storeStatus fills the store block and object counts of st; a.mu is held. While the etcd
// store is known to be down it does not wait for it and reports the last known counts.
func (a *Agent) storeStatus(ctx context.Context, st *api.Status) error {
	if a.cl == nil {
		st.Store = api.StoreStatus{Kind: StoreLocal, Healthy: true}
		var err error
		st.Endpoints, st.Peers, err = a.storeCounts(ctx)
		return err
	}
	c := a.cl
	if c.isHealthy() {
		// The outcome is recorded as the store's health (storeResult): a client leaving the
		// API must not read as an outage, so only the request timeout bounds these calls.
		ctx := context.WithoutCancel(ctx)
		err := func() error {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			if err := c.etcd.Ping(pctx); err != nil { // answer within a second at an outage's start
				return err
			}
			eps, peers, err := a.storeCounts(ctx)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, a.cl.etcd.RequestTimeout())
			defer cancel()
			nodes, err := c.etcd.LiveNodes(ctx)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.endpoints, c.peers, c.nodes = eps, peers, len(nodes)
			c.mu.Unlock()
			return nil
		}()
		a.storeResult(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Store = api.StoreStatus{Kind: StoreEtcd, Healthy: c.healthy, Error: c.err, NodeName: c.etcd.NodeName(), Registered: c.registered}
	if st.Store.Error == "" && c.regErr != "" {
		st.Store.Error = c.regErr
	}
	st.Endpoints, st.Peers, st.Nodes = c.endpoints, c.peers, c.nodes
	return nil
}

// Nodes lists the cluster's nodes (etcd store only): registered ones with their lease TTL,
// then those that hold a pod CIDR without a live lease. Errors: api.ErrUnsupported with the
// local store, api.ErrUnavailable while the store is unreachable.
func (a *Agent) Nodes(ctx context.Context) ([]api.NodeInfo, error) {
	if a.cl == nil {
		return nil, api.Errorf(api.ErrUnsupported, "this agent runs with --store local: it has no cluster nodes (start it with --store etcd)")
	}
	a.cl.mu.Lock()
	healthy, lastErr := a.cl.healthy, a.cl.err
	a.cl.mu.Unlock()
	if !healthy { // known outage: answer now rather than after the request timeout
		return nil, unavailableError(fmt.Errorf("list nodes: %w (%s)", store.ErrUnavailable, lastErr))
	}
	// The outcome is recorded as the store's health (storeResult), see storeStatus.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*a.cl.etcd.RequestTimeout())
	defer cancel()
	nodes, err := a.cl.etcd.Nodes(ctx)
	a.storeResult(err)
	if err != nil {
		return nil, unavailableError(err)
	}
	a.addWireGuardPeers(nodes)
	return nodes, nil
}
