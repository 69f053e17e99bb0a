package agent

// Store health and registration state as the agent last saw them.

import (
	"errors"

	"github.com/ebpfnet/ebpfnet/store"
)

// storeResult records the outcome of a store operation and logs health transitions. It
// reports whether the health changed.
func (a *Agent) storeResult(err error) bool {
	if a.cl == nil {
		return false
	}
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		// Not an outage (e.g. a bad record): log it, health is about reachability.
		a.log.Warn("reconcile with the cluster store", "err", err)
		return false
	}
	a.cl.mu.Lock()
	was := a.cl.healthy
	a.cl.healthy = err == nil
	a.cl.err = ""
	if err != nil {
		a.cl.err = err.Error()
	}
	a.cl.mu.Unlock()
	if was && err != nil {
		a.log.Warn("cluster store unavailable; keeping the datapath's maps as they are", "err", err)
	}
	return was != (err == nil)
}

// setRegistered records the registration state; it reports whether the error text changed.
func (c *clusterState) setRegistered(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.registered = err == nil
	old := c.regErr
	c.regErr = ""
	if err != nil {
		c.regErr = err.Error()
	}
	return old != c.regErr
}

// isHealthy reports the last known store health.
func (c *clusterState) isHealthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy
}
