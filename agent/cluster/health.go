package cluster

// Store health and registration state as the agent last saw them.

import (
	"errors"

	"github.com/ebpfnet/ebpfnet/store"
)

// storeResult records the outcome of a store operation and logs health transitions. It
// reports whether the health changed.
func (c *Cluster) storeResult(err error) bool {
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		// Not an outage (e.g. a bad record): log it, health is about reachability.
		c.log.Warn("reconcile with the cluster store", "err", err)
		return false
	}
	c.mu.Lock()
	was := c.healthy
	c.healthy = err == nil
	c.err = ""
	if err != nil {
		c.err = err.Error()
	}
	c.mu.Unlock()
	if was && err != nil {
		c.log.Warn("cluster store unavailable; keeping the datapath's maps as they are", "err", err)
	}
	return was != (err == nil)
}

// setRegistered records the registration state; it reports whether the error text changed.
func (c *Cluster) setRegistered(err error) bool {
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

// Healthy reports the last known store health, without waiting on the store.
func (c *Cluster) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy
}
