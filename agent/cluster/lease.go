package cluster

// Keeping this node registered: re-registration after a lost lease.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebpfnet/ebpfnet/api"

	"github.com/ebpfnet/ebpfnet/store"
)

// registerLoop registers the node again whenever its lease is lost (it expired while etcd was
// unreachable, or was revoked), retrying until it succeeds.
func (c *Cluster) registerLoop(ctx context.Context) {
	defer c.wg.Done()
	reg := c.reg
	for {
		select {
		case <-ctx.Done():
			reg.Close()
			return
		case <-reg.Lost():
		}
		c.setRegistered(errors.New("node lease lost; registering again"))
		c.log.Warn("node lease lost; registering again", "node", c.store.NodeName())
		for reg = nil; reg == nil; {
			r, err := c.register(ctx)
			if ctx.Err() != nil {
				if r != nil {
					r.Close()
				}
				return
			}
			if err != nil {
				if c.setRegistered(err) {
					c.log.Error("cannot register node; other nodes do not route to it", "node", c.store.NodeName(), "err", err)
				}
				wait := c.every.registerBackoff
				if !errors.Is(err, store.ErrUnavailable) {
					wait = c.every.conflictBackoff // e.g. our pod CIDR went to another node: needs an operator
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				continue
			}
			reg = r
		}
		c.setRegistered(nil)
		c.log.Info("node registered again", "node", c.store.NodeName(), "lease", fmt.Sprintf("%x", reg.LeaseID()))
	}
}

// Register is store.Etcd.Register with the registration as a Lease (nil on error).
func (s storeErrors) Register(ctx context.Context, rec api.NodeRecord, ttl time.Duration) (Lease, error) {
	r, err := s.Etcd.Register(ctx, rec, ttl)
	if r == nil {
		return nil, err
	}
	return r, err
}
