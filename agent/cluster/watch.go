package cluster

// The cluster loop: store health probe and watch events.

import (
	"context"
	"time"
)

// syncLoop probes the store every health interval and reconciles the ipcache after every watch
// event, every resync interval, and fully (endpoints too) when the store comes back. Nothing is
// swept while the store fails: reconcile reads everything before it deletes anything.
func (c *Cluster) syncLoop(ctx context.Context) {
	defer c.wg.Done()
	watch := c.store.Watch(ctx)
	probe := time.NewTicker(c.every.health)
	defer probe.Stop()
	resync := time.NewTicker(c.every.resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			pctx, cancel := context.WithTimeout(ctx, c.every.probeTimeout)
			err := c.store.Ping(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if c.storeResult(err) && err == nil {
				c.log.Info("cluster store reachable again; resyncing", "store", c.store.Location())
				c.storeResult(c.agent.Reconcile(ctx))
				c.markOrphans(ctx)
			}
		case _, ok := <-watch:
			if !ok {
				return
			}
			c.resync(ctx)
			c.markOrphans(ctx)
			c.refreshCounts(ctx)
		case <-resync.C:
			if c.Healthy() { // while it is down the probe's recovery resyncs
				c.resync(ctx)
			}
		}
	}
}
