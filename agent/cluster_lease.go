package agent

// Keeping this node registered: re-registration after a lost lease.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebpfnet/ebpfnet/store"
)

// registerLoop registers the node again whenever its lease is lost (it expired while etcd was
// unreachable, or was revoked), retrying until it succeeds.
func (a *Agent) registerLoop(ctx context.Context) {
	defer a.cl.wg.Done()
	reg := a.cl.reg
	for {
		select {
		case <-ctx.Done():
			reg.Close()
			return
		case <-reg.Lost():
		}
		a.cl.setRegistered(errors.New("node lease lost; registering again"))
		a.log.Warn("node lease lost; registering again", "node", a.cl.etcd.NodeName())
		for reg = nil; reg == nil; {
			rctx, cancel := context.WithTimeout(ctx, 4*a.cl.etcd.RequestTimeout())
			r, err := a.cl.etcd.Register(rctx, a.nodeRecord(), a.cl.cfg.NodeTTL)
			cancel()
			if ctx.Err() != nil {
				if r != nil {
					r.Close()
				}
				return
			}
			if err != nil {
				if a.cl.setRegistered(err) {
					a.log.Error("cannot register node; other nodes do not route to it", "node", a.cl.etcd.NodeName(), "err", err)
				}
				wait := registerBackoff
				if !errors.Is(err, store.ErrUnavailable) {
					wait = conflictBackoff // e.g. our pod CIDR went to another node: needs an operator
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
		a.cl.setRegistered(nil)
		a.log.Info("node registered again", "node", a.cl.etcd.NodeName(), "lease", fmt.Sprintf("%x", reg.LeaseID()))
	}
}
