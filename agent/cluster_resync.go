package agent

// Resync of the datapath with the cluster store (called by the cluster package).

import "context"

// resyncFromStore reconciles the ipcache and the compiled policy with the store under the
// agent lock (cluster.Agent.Resync).
func (a *Agent) resyncFromStore(ctx context.Context) error {
	a.mu.Lock()
	// Peer hosts (and their WireGuard peers) before the routes to them: a new node's first
	// packets find it authenticated and, with encryption, keyed (else drop_no_key).
	err := a.reconcilePeerHosts(ctx) // nodes joined or left
	if err == nil {
		err = a.reconcileIPCache(ctx)
	}
	if err == nil {
		err = a.reconcileServices(ctx) // services, or their backends' nodes and endpoints
	}
	if err == nil {
		// policy or identities may have changed on another node; a policy that does not fit
		// here is this host's problem, not the store's
		a.notePolicySync(a.syncPolicy(ctx))
	}
	a.mu.Unlock()
	return err
}
