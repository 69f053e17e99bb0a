package agent

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
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
