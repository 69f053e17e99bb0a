package agent

import (
	"context"
	"time"
)

// gcIdentities frees the identities no endpoint of the cluster (every node's, with etcd) has
// used for a.cfg.IdentityGrace as seen by this agent, including those of an `endpoint add`
// that failed after allocating one, then recompiles the policy without them. The grace covers
// an allocation racing the sweep (another node between allocating and storing its endpoint);
// the store deletes only if the identity is unchanged. Returns how many were freed.
func (a *Agent) gcIdentities(ctx context.Context, now time.Time) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	eps, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return 0, err
	}
	ids, err := a.store.Identities(ctx)
	if err != nil {
		return 0, err
	}
	used := make(map[uint32]bool, len(eps))
	for _, e := range eps {
		used[e.Identity] = true
	}
	if a.idUnused == nil {
		a.idUnused = map[string]time.Time{}
	}
	for key := range a.idUnused {
		if _, ok := ids[key]; !ok {
			delete(a.idUnused, key)
		}
	}
	freed := 0
	for key, id := range ids {
		since, seen := a.idUnused[key]
		switch {
		case used[id]:
			delete(a.idUnused, key)
		case !seen:
			a.idUnused[key] = now
		case now.Sub(since) >= a.cfg.IdentityGrace:
			if err := a.store.DeleteIdentity(ctx, key, id); err != nil {
				return freed, err
			}
			delete(a.idUnused, key)
			freed++
			a.log.Info("identity freed", "identity", id, "labels", key)
		}
	}
	if freed > 0 {
		a.notePolicySync(a.syncPolicy(ctx))
	}
	return freed, nil
}

// identityGC runs gcIdentities, logging what fails.
func (a *Agent) identityGC(ctx context.Context, now time.Time) {
	if _, err := a.gcIdentities(ctx, now); err != nil {
		a.log.Warn("identity GC", "err", err)
	}
}
