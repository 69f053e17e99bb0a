package agent

// The cluster loop: store health probe and watch events.

import (
	"context"
	"time"
)

// syncLoop probes the store every healthInterval and reconciles the ipcache after every watch
// event, every resyncInterval, and fully (endpoints too) when the store comes back. Nothing is
// swept while the store fails: reconcile reads everything before it deletes anything.
func (a *Agent) syncLoop(ctx context.Context) {
	defer a.cl.wg.Done()
	watch := a.cl.etcd.Watch(ctx)
	probe := time.NewTicker(healthInterval)
	defer probe.Stop()
	resync := time.NewTicker(resyncInterval)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-probe.C:
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			err := a.cl.etcd.Ping(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if a.storeResult(err) && err == nil {
				a.log.Info("cluster store reachable again; resyncing", "store", a.statePath)
				a.storeResult(a.reconcile(ctx))
				a.markOrphans(ctx)
			}
		case _, ok := <-watch:
			if !ok {
				return
			}
			a.resyncFromStore(ctx)
			a.markOrphans(ctx)
			a.refreshCounts(ctx)
		case <-resync.C:
			if a.cl.isHealthy() { // while it is down the probe's recovery resyncs
				a.resyncFromStore(ctx)
			}
		}
	}
}
