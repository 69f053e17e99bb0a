package cluster

// What the API reports about the cluster store and its nodes.

import (
	"context"
	"fmt"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// refreshCounts updates the counts Status reports while the store is down.
func (c *Cluster) refreshCounts(ctx context.Context) {
	var st api.Status
	c.Status(ctx, &st)
}

// Counts counts the endpoints and peers st holds for this node.
func Counts(ctx context.Context, st store.Store) (endpoints, peers int, err error) {
	eps, err := st.Endpoints(ctx)
	if err != nil {
		return 0, 0, err
	}
	ps, err := st.Peers(ctx)
	return len(eps), len(ps), err
}

// Status fills the store block and the endpoint, peer and node counts of st. While the store
// is known to be down it does not wait for it and reports the last known counts.
func (c *Cluster) Status(ctx context.Context, st *api.Status) {
	if c.Healthy() {
		// The outcome is recorded as the store's health (storeResult): a client leaving the
		// API must not read as an outage, so only the request timeout bounds these calls.
		ctx := context.WithoutCancel(ctx)
		err := func() error {
			pctx, cancel := context.WithTimeout(ctx, c.every.probeTimeout)
			defer cancel()
			if err := c.store.Ping(pctx); err != nil { // answer within a second at an outage's start
				return err
			}
			eps, peers, err := Counts(ctx, c.store)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, c.store.RequestTimeout())
			defer cancel()
			nodes, err := c.store.LiveNodes(ctx)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.endpoints, c.peers, c.nodes = eps, peers, len(nodes)
			c.mu.Unlock()
			return nil
		}()
		c.storeResult(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Store = api.StoreStatus{Kind: api.StoreEtcd, Healthy: c.healthy, Error: c.err, NodeName: c.store.NodeName(), Registered: c.registered}
	if st.Store.Error == "" && c.regErr != "" {
		st.Store.Error = c.regErr
	}
	st.Endpoints, st.Peers, st.Nodes = c.endpoints, c.peers, c.nodes
}

// Nodes lists the cluster's nodes: registered ones with their lease TTL, then those that
// hold a pod CIDR without a live lease. Errors: api.ErrUnavailable (still matching
// store.ErrUnavailable) while the store is unreachable, at once while it is known to be.
func (c *Cluster) Nodes(ctx context.Context) ([]api.NodeInfo, error) {
	c.mu.Lock()
	healthy, lastErr := c.healthy, c.err
	c.mu.Unlock()
	if !healthy { // known outage: answer now rather than after the request timeout
		return nil, UnavailableError(fmt.Errorf("list nodes: %w (%s)", store.ErrUnavailable, lastErr))
	}
	// The outcome is recorded as the store's health (storeResult), see Status.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*c.store.RequestTimeout())
	defer cancel()
	nodes, err := c.store.Nodes(ctx)
	c.storeResult(err)
	if err != nil {
		return nil, UnavailableError(err)
	}
	return nodes, nil
}
