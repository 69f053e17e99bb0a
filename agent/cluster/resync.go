package cluster

// Resync of the datapath with the cluster store, and orphan marking.

import "context"

// resync has the agent reconcile its ipcache and policy with the store and records the
// outcome as the store's health.
func (c *Cluster) resync(ctx context.Context) {
	c.storeResult(c.agent.Resync(ctx))
}

// markOrphans starts the grace period of pod CIDRs whose node left (best effort).
func (c *Cluster) markOrphans(ctx context.Context) {
	mctx, cancel := context.WithTimeout(ctx, c.store.RequestTimeout())
	defer cancel()
	if err := c.store.MarkOrphanedCIDRs(mctx); err != nil {
		c.log.Debug("mark orphaned pod CIDRs", "err", err)
	}
}
