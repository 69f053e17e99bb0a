package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
	"github.com/ebpfnet/ebpfnet/store"
)

// Store kinds of StoreConfig.Kind (`ebpfnet agent --store`).
const (
	StoreLocal = api.StoreLocal
	StoreEtcd  = api.StoreEtcd
)

// Cluster defaults (etcd store).
const (
	DefaultNodeTTL     = 10 * time.Second // lease of the node key
	DefaultPodCIDRSize = 24               // prefix length of allocated pod CIDRs
	DefaultCIDRGrace   = 60 * time.Second // before a departed node's pod CIDR is reused
)

// Intervals of the cluster loop.
const (
	healthInterval  = time.Second            // store probe
	probeTimeout    = time.Second            // bound of one probe
	resyncInterval  = 10 * time.Second       // full ipcache resync even without watch events
	registerBackoff = 500 * time.Millisecond // retry of a registration while etcd is unreachable
	conflictBackoff = 5 * time.Second        // retry of a registration etcd refused
)

// StoreConfig selects the desired-state store and, for etcd, the node's cluster membership
// (flags --store, --etcd-*, --node-name, --node-ttl, --pod-cidr-size, --cidr-grace).
type StoreConfig struct {
	Kind string // StoreLocal ("" too) or StoreEtcd
	// Etcd is the etcd connection; Etcd.NodeName "" = the host name.
	Etcd store.EtcdConfig
	// NodeTTL is the lease TTL of the node key (whole seconds, >= 1 s); 0 = DefaultNodeTTL. A
	// node whose agent stops renewing disappears from the other nodes' ipcache after it.
	NodeTTL time.Duration
	// PodCIDRSize is the prefix length of an allocated pod CIDR when Config.PodCIDR is not
	// given; 0 = DefaultPodCIDRSize.
	PodCIDRSize int
	// CIDRGrace is how long a departed node's pod CIDR stays reserved for it; 0 = DefaultCIDRGrace.
	CIDRGrace time.Duration
}

func (c StoreConfig) withDefaults() StoreConfig {
	if c.Kind == "" {
		c.Kind = StoreLocal
	}
	if c.Etcd.NodeName == "" {
		c.Etcd.NodeName, _ = os.Hostname()
	}
	if c.NodeTTL == 0 {
		c.NodeTTL = DefaultNodeTTL
	}
	if c.PodCIDRSize == 0 {
		c.PodCIDRSize = DefaultPodCIDRSize
	}
	if c.CIDRGrace == 0 {
		c.CIDRGrace = DefaultCIDRGrace
	}
	return c
}

// clusterState is the agent's membership in an etcd cluster store; nil with the local store.
type clusterState struct {
	etcd   *store.Etcd
	cfg    StoreConfig
	reg    *store.Registration // current registration; owned by the register loop after start
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	healthy    bool
	err        string // last store error ("" when healthy)
	regErr     string // why the node is not registered ("" when it is)
	registered bool
	// last known counts, reported by Status while the store is unreachable
	endpoints, peers, nodes int
}

// openStore opens the configured store. For etcd it also fixes the node's pod CIDR: the given
// one is claimed, else one is allocated (the same one as before if this node had one).
func (a *Agent) openStore(ctx context.Context) error {
	sc := a.cfg.Store
	switch sc.Kind {
	case StoreLocal:
		st, err := store.OpenLocal(a.cfg.StateDir)
		if err != nil {
			return err
		}
		a.store, a.statePath = st, st.Path()
		return nil
	case StoreEtcd:
	default:
		return fmt.Errorf("unknown store %q: want %s or %s", sc.Kind, StoreLocal, StoreEtcd)
	}
	if sc.NodeTTL < time.Second {
		return fmt.Errorf("node TTL %s: want at least 1s", sc.NodeTTL)
	}
	if sc.PodCIDRSize < a.node.Cluster.Bits() || sc.PodCIDRSize > 30 {
		return fmt.Errorf("pod CIDR size /%d: want /%d (the cluster CIDR) to /30", sc.PodCIDRSize, a.node.Cluster.Bits())
	}
	ec := sc.Etcd
	ec.Logger = a.log
	st, err := store.OpenEtcd(ec)
	if err != nil {
		return err
	}
	a.cl = &clusterState{etcd: st, cfg: sc, healthy: true}
	a.store, a.statePath = storeErrors{st}, st.Location()
	ctx, cancel := context.WithTimeout(ctx, 4*st.RequestTimeout())
	defer cancel()
	if a.node.PodCIDR.IsValid() {
		if err := st.ClaimPodCIDR(ctx, a.node.PodCIDR, sc.CIDRGrace); err != nil {
			return err
		}
	} else {
		cidr, err := st.AllocatePodCIDR(ctx, a.node.Cluster, sc.PodCIDRSize, sc.CIDRGrace)
		if err != nil {
			return err
		}
		a.node.PodCIDR, a.node.Gateway = cidr, cidr.Addr().Next()
	}
	a.log.Info("pod CIDR allocated", "node", st.NodeName(), "podCIDR", a.node.PodCIDR, "store", st.Location())
	return nil
}

// nodeRecord is what this node registers.
func (a *Agent) nodeRecord() api.NodeRecord {
	rec := api.NodeRecord{Name: a.cl.etcd.NodeName(), UnderlayIP: a.node.UnderlayIP, PodCIDR: a.node.PodCIDR, VTEPMAC: a.node.RouterMAC}
	if key := a.wgPublicKey(); key != "" {
		rec.WGPublicKey, rec.WGPort = key, uint16(a.cfg.WireGuardPort)
	}
	return rec
}

// joinCluster registers the node (after the datapath is reconciled) and starts the loops
// that keep the registration, watch the cluster and probe the store. No-op for local.
func (a *Agent) joinCluster(ctx context.Context) error {
	if a.cl == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 4*a.cl.etcd.RequestTimeout())
	reg, err := a.cl.etcd.Register(rctx, a.nodeRecord(), a.cl.cfg.NodeTTL)
	cancel()
	if err != nil {
		return err
	}
	a.cl.reg = reg
	a.cl.setRegistered(nil)
	a.log.Info("node registered", "node", a.cl.etcd.NodeName(), "lease", fmt.Sprintf("%x", reg.LeaseID()), "ttl", a.cl.cfg.NodeTTL)
	// The loops run until Close (leaveCluster), not until start-up's ctx ends.
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.cl.cancel = stop
	a.cl.wg.Add(2)
	go a.registerLoop(loopCtx)
	go a.syncLoop(loopCtx)
	return nil
}

// leaveCluster stops the loops (the lease is left to expire, see store.Registration.Close).
func (a *Agent) leaveCluster() {
	if a.cl == nil || a.cl.cancel == nil {
		return
	}
	a.cl.cancel()
	a.cl.wg.Wait()
	a.cl.cancel = nil
}

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

// resyncFromStore reconciles the ipcache and the compiled policy with the store under the
// agent lock.
func (a *Agent) resyncFromStore(ctx context.Context) {
	a.mu.Lock()
	// Peer hosts (and their WireGuard peers) before the routes to them: a new node's first
	// packets find it authenticated and, with encryption, keyed (else drop_no_key).
	err := a.reconcilePeerHosts(ctx) // nodes joined or left
	if err == nil {
		err = a.reconcileIPCache(ctx)
	}
	if err == nil {
		// policy or identities may have changed on another node; a policy that does not fit
		// here is this host's problem, not the store's
		a.notePolicySync(a.syncPolicy(ctx))
	}
	a.mu.Unlock()
	a.storeResult(err)
}

// markOrphans starts the grace period of pod CIDRs whose node left (best effort).
func (a *Agent) markOrphans(ctx context.Context) {
	mctx, cancel := context.WithTimeout(ctx, a.cl.etcd.RequestTimeout())
	defer cancel()
	if err := a.cl.etcd.MarkOrphanedCIDRs(mctx); err != nil {
		a.log.Debug("mark orphaned pod CIDRs", "err", err)
	}
}

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

// refreshCounts updates the counts Status reports while the store is down.
func (a *Agent) refreshCounts(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var st api.Status
	_ = a.storeStatus(ctx, &st)
}

// storeStatus fills the store block and object counts of st; a.mu is held. While the etcd
// store is known to be down it does not wait for it and reports the last known counts.
func (a *Agent) storeStatus(ctx context.Context, st *api.Status) error {
	if a.cl == nil {
		st.Store = api.StoreStatus{Kind: StoreLocal, Healthy: true}
		eps, err := a.store.Endpoints(ctx)
		if err != nil {
			return err
		}
		peers, err := a.store.Peers(ctx)
		if err != nil {
			return err
		}
		st.Endpoints, st.Peers = len(eps), len(peers)
		return nil
	}
	c := a.cl
	if c.isHealthy() {
		err := func() error {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			if err := c.etcd.Ping(pctx); err != nil { // answer within a second at an outage's start
				return err
			}
			eps, err := a.store.Endpoints(ctx)
			if err != nil {
				return err
			}
			peers, err := a.store.Peers(ctx)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, a.cl.etcd.RequestTimeout())
			defer cancel()
			nodes, err := c.etcd.LiveNodes(ctx)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.endpoints, c.peers, c.nodes = len(eps), len(peers), len(nodes)
			c.mu.Unlock()
			return nil
		}()
		a.storeResult(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Store = api.StoreStatus{Kind: StoreEtcd, Healthy: c.healthy, Error: c.err, NodeName: c.etcd.NodeName(), Registered: c.registered}
	if st.Store.Error == "" && c.regErr != "" {
		st.Store.Error = c.regErr
	}
	st.Endpoints, st.Peers, st.Nodes = c.endpoints, c.peers, c.nodes
	return nil
}

// Nodes lists the cluster's nodes (etcd store only): registered ones with their lease TTL,
// then those that hold a pod CIDR without a live lease. Errors: api.ErrUnsupported with the
// local store, api.ErrUnavailable while the store is unreachable.
func (a *Agent) Nodes(ctx context.Context) ([]api.NodeInfo, error) {
	if a.cl == nil {
		return nil, api.Errorf(api.ErrUnsupported, "this agent runs with --store local: it has no cluster nodes (start it with --store etcd)")
	}
	a.cl.mu.Lock()
	healthy, lastErr := a.cl.healthy, a.cl.err
	a.cl.mu.Unlock()
	if !healthy { // known outage: answer now rather than after the request timeout
		return nil, unavailableError(fmt.Errorf("list nodes: %w (%s)", store.ErrUnavailable, lastErr))
	}
	ctx, cancel := context.WithTimeout(ctx, 2*a.cl.etcd.RequestTimeout())
	defer cancel()
	nodes, err := a.cl.etcd.Nodes(ctx)
	a.storeResult(err)
	if err != nil {
		return nil, unavailableError(err)
	}
	a.addWireGuardPeers(nodes)
	return nodes, nil
}

// storeErrors is the etcd store as the agent uses it: an unreachable store is an
// api.ErrUnavailable refusal (the API answers 503) with a message saying so.
type storeErrors struct{ *store.Etcd }

func (s storeErrors) Endpoints(ctx context.Context) ([]api.Endpoint, error) {
	eps, err := s.Etcd.Endpoints(ctx)
	return eps, unavailableError(err)
}

func (s storeErrors) PutEndpoint(ctx context.Context, ep api.Endpoint) error {
	return unavailableError(s.Etcd.PutEndpoint(ctx, ep))
}

func (s storeErrors) DeleteEndpoint(ctx context.Context, name string) error {
	return unavailableError(s.Etcd.DeleteEndpoint(ctx, name))
}

func (s storeErrors) Peers(ctx context.Context) ([]api.Peer, error) {
	ps, err := s.Etcd.Peers(ctx)
	return ps, unavailableError(err)
}

func (s storeErrors) PutPeer(ctx context.Context, p api.Peer) error {
	return unavailableError(s.Etcd.PutPeer(ctx, p))
}

func (s storeErrors) Identity(ctx context.Context, labelsKey string) (uint32, error) {
	id, err := s.Etcd.Identity(ctx, labelsKey)
	return id, unavailableError(err)
}

func (s storeErrors) ClusterEndpoints(ctx context.Context) ([]api.Endpoint, error) {
	eps, err := s.Etcd.ClusterEndpoints(ctx)
	return eps, unavailableError(err)
}

func (s storeErrors) Identities(ctx context.Context) (map[string]uint32, error) {
	ids, err := s.Etcd.Identities(ctx)
	return ids, unavailableError(err)
}

func (s storeErrors) DeleteIdentity(ctx context.Context, labelsKey string, id uint32) error {
	return unavailableError(s.Etcd.DeleteIdentity(ctx, labelsKey, id))
}

func (s storeErrors) Policy(ctx context.Context) (policy.Policy, error) {
	p, err := s.Etcd.Policy(ctx)
	return p, unavailableError(err)
}

func (s storeErrors) PutPolicy(ctx context.Context, p policy.Policy) error {
	return unavailableError(s.Etcd.PutPolicy(ctx, p))
}

// storeUnavailable is an api.ErrUnavailable refusal that still matches store.ErrUnavailable.
type storeUnavailable struct {
	msg   string
	cause error
}

func (e *storeUnavailable) Error() string   { return e.msg }
func (e *storeUnavailable) Unwrap() []error { return []error{api.ErrUnavailable, e.cause} }

// unavailableError turns a store.ErrUnavailable error into an api.ErrUnavailable refusal;
// others pass.
func unavailableError(err error) error {
	if err == nil || !errors.Is(err, store.ErrUnavailable) {
		return err
	}
	msg := err.Error() + " (the datapath keeps forwarding with its current maps; changes are refused until the store is back)"
	return &storeUnavailable{msg: msg, cause: err}
}
