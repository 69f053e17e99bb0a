// Package cluster is the agent's membership in an etcd cluster store: it opens the configured
// store (fixing this node's pod CIDR), registers the node with a lease and registers it again
// when the lease is lost, watches the store and has the agent resync its datapath after every
// change, probes the store's health, marks departed nodes' pod CIDRs as orphaned, and reports
// store status and counts. It talks to the agent through the small Agent interface, and to
// etcd through the Store interface (*store.Etcd), so its loops are unit-tested with fakes.
package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// Cluster defaults (etcd store).
const (
	DefaultNodeTTL     = 10 * time.Second // lease of the node key
	DefaultPodCIDRSize = 24               // prefix length of allocated pod CIDRs
	DefaultCIDRGrace   = 60 * time.Second // before a departed node's pod CIDR is reused
)

// intervals of the cluster loops; tests shorten them.
type intervals struct {
	health          time.Duration // store probe
	probeTimeout    time.Duration // bound of one probe
	resync          time.Duration // full ipcache resync even without watch events
	registerBackoff time.Duration // retry of a registration while etcd is unreachable
	conflictBackoff time.Duration // retry of a registration etcd refused
}

var defaultIntervals = intervals{
	health:          time.Second,
	probeTimeout:    time.Second,
	resync:          10 * time.Second,
	registerBackoff: 500 * time.Millisecond,
	conflictBackoff: 5 * time.Second,
}

// Config selects the desired-state store and, for etcd, the node's cluster membership
// (flags --store, --etcd-*, --node-name, --node-ttl, --pod-cidr-size, --cidr-grace).
type Config struct {
	Kind string // api.StoreLocal ("" too) or api.StoreEtcd
	// Etcd is the etcd connection; Etcd.NodeName "" = the host name.
	Etcd store.EtcdConfig
	// NodeTTL is the lease TTL of the node key (whole seconds, >= 1 s); 0 = DefaultNodeTTL. A
	// node whose agent stops renewing disappears from the other nodes' ipcache after it.
	NodeTTL time.Duration
	// PodCIDRSize is the prefix length of an allocated pod CIDR when the agent's pod CIDR is
	// not given; 0 = DefaultPodCIDRSize.
	PodCIDRSize int
	// CIDRGrace is how long a departed node's pod CIDR stays reserved for it; 0 = DefaultCIDRGrace.
	CIDRGrace time.Duration
}

// WithDefaults fills zero fields (NodeName: the host name).
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		c.Kind = api.StoreLocal
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

// Agent is what membership needs from the node agent.
type Agent interface {
	// NodeRecord is the record this node registers; its Name is filled in by the cluster.
	NodeRecord() api.NodeRecord
	// Resync reconciles the ipcache and the compiled policy with the store (after a watch
	// event and every resync interval); an error wrapping store.ErrUnavailable is an outage.
	Resync(ctx context.Context) error
	// Reconcile reconciles the whole datapath with the store (when the store comes back).
	Reconcile(ctx context.Context) error
}

// Lease is a node registration kept alive in the background (*store.Registration).
type Lease interface {
	Lost() <-chan struct{} // closed when the lease is no longer kept alive
	LeaseID() int64
	Close() // stops renewing without revoking
}

// Store is the etcd store as membership uses it: *store.Etcd behind storeErrors, fakes in tests.
// See store.Etcd for each method.
type Store interface {
	store.Store
	NodeName() string
	Location() string
	RequestTimeout() time.Duration
	Ping(ctx context.Context) error
	Register(ctx context.Context, rec api.NodeRecord, ttl time.Duration) (Lease, error)
	UpdateNodeRecord(ctx context.Context, rec api.NodeRecord) error
	Watch(ctx context.Context) <-chan struct{}
	MarkOrphanedCIDRs(ctx context.Context) error
	LiveNodes(ctx context.Context) ([]api.NodeRecord, error)
	Nodes(ctx context.Context) ([]api.NodeInfo, error)
}

// Cluster is the agent's membership in an etcd cluster store. Create it with Open (or New),
// start it with Join, stop it with Leave.
type Cluster struct {
	store Store
	agent Agent
	cfg   Config
	log   *slog.Logger
	every intervals
	reg   Lease // current registration; owned by the register loop after Join

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

// New is the membership of this node (cfg.Etcd.NodeName) in the cluster store st, which is
// taken as healthy until a store operation fails.
func New(st Store, cfg Config, agent Agent, log *slog.Logger) *Cluster {
	return &Cluster{store: st, agent: agent, cfg: cfg, log: log, every: defaultIntervals, healthy: true}
}

// Open opens the store cfg selects and returns it with its location (the bbolt file in
// stateDir, or etcd://<endpoints><prefix>). With etcd it also fixes node's pod CIDR (the given
// one is claimed, else one of cfg.PodCIDRSize is allocated in node.Cluster, the same one as
// before if this node had one, and node.PodCIDR and node.Gateway are set) and returns the
// node's membership, to Join once the datapath is reconciled; with the local store that is
// nil. Errors: an unknown kind, a node TTL under 1 s, a pod CIDR size outside
// [node.Cluster's, 30], the store's (store.ErrUnavailable, store.ErrCIDRTaken, ...).
func Open(ctx context.Context, cfg Config, stateDir string, node *api.Node, agent Agent, log *slog.Logger) (store.Store, string, *Cluster, error) {
	switch cfg.Kind {
	case api.StoreLocal:
		st, err := store.OpenLocal(stateDir)
		if err != nil {
			return nil, "", nil, err
		}
		return st, st.Path(), nil, nil
	case api.StoreEtcd:
	default:
		return nil, "", nil, fmt.Errorf("unknown store %q: want %s or %s", cfg.Kind, api.StoreLocal, api.StoreEtcd)
	}
	if cfg.NodeTTL < time.Second {
		return nil, "", nil, fmt.Errorf("node TTL %s: want at least 1s", cfg.NodeTTL)
	}
	if cfg.PodCIDRSize < node.Cluster.Bits() || cfg.PodCIDRSize > 30 {
		return nil, "", nil, fmt.Errorf("pod CIDR size /%d: want /%d (the cluster CIDR) to /30", cfg.PodCIDRSize, node.Cluster.Bits())
	}
	ec := cfg.Etcd
	ec.Logger = log
	st, err := store.OpenEtcd(ec)
	if err != nil {
		return nil, "", nil, err
	}
	if err := fixPodCIDR(ctx, st, cfg, node); err != nil {
		st.Close()
		return nil, "", nil, err
	}
	log.Info("pod CIDR allocated", "node", st.NodeName(), "podCIDR", node.PodCIDR, "store", st.Location())
	return storeErrors{st}, st.Location(), New(storeErrors{st}, cfg, agent, log), nil
}

// fixPodCIDR claims node.PodCIDR if given, else allocates one and sets node.PodCIDR and
// node.Gateway (its first address).
func fixPodCIDR(ctx context.Context, st *store.Etcd, cfg Config, node *api.Node) error {
	ctx, cancel := context.WithTimeout(ctx, 4*st.RequestTimeout())
	defer cancel()
	if node.PodCIDR.IsValid() {
		return st.ClaimPodCIDR(ctx, node.PodCIDR, cfg.CIDRGrace)
	}
	cidr, err := st.AllocatePodCIDR(ctx, node.Cluster, cfg.PodCIDRSize, cfg.CIDRGrace)
	if err != nil {
		return err
	}
	node.PodCIDR, node.Gateway = cidr, cidr.Addr().Next()
	return nil
}

// NodeName is this node's name in the cluster.
func (c *Cluster) NodeName() string { return c.store.NodeName() }

// nodeRecord is what this node registers.
func (c *Cluster) nodeRecord() api.NodeRecord {
	rec := c.agent.NodeRecord()
	rec.Name = c.store.NodeName()
	return rec
}

// register registers this node with a lease of cfg.NodeTTL, bounded by 4 request timeouts.
func (c *Cluster) register(ctx context.Context) (Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*c.store.RequestTimeout())
	defer cancel()
	return c.store.Register(ctx, c.nodeRecord(), c.cfg.NodeTTL)
}

// PublishNodeRecord replaces this node's registered record with the agent's current one
// (e.g. a rotated WireGuard key), bounded by 2 request timeouts. Errors: the store's
// (store.ErrUnavailable while it is unreachable).
func (c *Cluster) PublishNodeRecord(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*c.store.RequestTimeout())
	defer cancel()
	return c.store.UpdateNodeRecord(ctx, c.nodeRecord())
}

// Join registers the node (after the datapath is reconciled) and starts the loops that keep
// the registration, watch the cluster and probe the store, until Leave.
func (c *Cluster) Join(ctx context.Context) error {
	reg, err := c.register(ctx)
	if err != nil {
		return err
	}
	c.reg = reg
	c.setRegistered(nil)
	c.log.Info("node registered", "node", c.store.NodeName(), "lease", fmt.Sprintf("%x", reg.LeaseID()), "ttl", c.cfg.NodeTTL)
	// The loops run until Leave, not until start-up's ctx ends.
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = stop
	c.wg.Add(2)
	go c.registerLoop(loopCtx)
	go c.syncLoop(loopCtx)
	return nil
}

// Leave stops the loops (the lease is left to expire, see store.Registration.Close). No-op
// before Join.
func (c *Cluster) Leave() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.wg.Wait()
	c.cancel = nil
}
