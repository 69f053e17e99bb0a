package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/ebpfnet/ebpfnet/agent/cluster"
	"github.com/ebpfnet/ebpfnet/agent/httpapi"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/loader"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/store"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// Agent is a running node agent. Create it with New, serve with Run, release with Close.
type Agent struct {
	cfg    Config
	node   api.Node
	log    *slog.Logger
	hostNS netns.NsHandle // the agent's own netns: host sides of endpoints live here

	metrics agentMetrics // map walk cache; Prometheus registry with --metrics-addr

	mon       monitor    // drop-event subscribers
	mu        sync.Mutex // serializes every change of state, maps and links
	store     store.Store
	statePath string
	dp        *loader.Datapath
	maps      maps.Set
	dmaps     domainMaps // endpoints, ipcache and published of maps, as interfaces (fakes in tests)
	unlock    func() error
	ln        net.Listener
	cl        *cluster.Cluster      // etcd membership; nil with the local store
	policyErr error                 // why the stored policy is not the one in force; nil when it is (a.mu)
	idUnused  map[string]time.Time  // identity label keys seen unused, since when (a.mu)
	epNames   map[netip.Addr]string // this node's endpoint names by IP, for status (a.mu)
	wg        *wireguard.Device     // encryption device; nil with --encryption none
	wgKey     wgtypes.Key           // this node's WireGuard private key (with wg)
	// svcBackendIPs are the local endpoints backing a service (a.mu); svcWritten what each
	// service map ID's entries were last written from (a.mu), so unchanged ones are not rewritten.
	svcBackendIPs map[netip.Addr]bool
	svcWritten    map[uint32]string
	// gsoMaxSize is the IPv4 GSO/GRO size in bytes given to new container veths (BIG TCP);
	// 0 = the kernel's 64 KiB (--big-tcp=false or a kernel without it).
	gsoMaxSize uint32
	underlay   int // the underlay device's ifindex
	// healthEpoch counts reconcileServices passes that saw a health-checked service;
	// healthIdleAt is 1 + the epoch at which serviceHealth last found none and no endpoint
	// marked unhealthy (0: never). While it is epoch + 1, serviceHealth skips its store reads.
	healthEpoch, healthIdleAt atomic.Uint64
}

// New validates cfg, takes the state and pin-directory locks (a second agent on the same
// paths fails here with store.ErrLocked or loader.ErrPinDirBusy), loads the datapath (reusing
// pinned maps), programs the node configuration, attaches the overlay program, reconciles maps
// with the stored state and binds the API socket (mode 0600).
func New(ctx context.Context, cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if cfg.NATPorts == [2]uint16{} {
		ports, err := defaultNATPorts()
		if err != nil {
			return nil, err
		}
		cfg.NATPorts = ports
	}
	node, underlayIdx, err := resolveNode(cfg)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, node: node, log: cfg.Logger, underlay: underlayIdx}
	if err := a.start(ctx, underlayIdx); err != nil {
		a.Close()
		return nil, err
	}
	a.log.Info("agent ready", "underlay", node.UnderlayDev, "underlayIP", node.UnderlayIP,
		"vni", node.VNI, "cluster", node.Cluster, "podCIDR", a.node.PodCIDR, "mtu", node.MTU, "encryption", node.Encryption,
		"pinDir", cfg.PinDir, "socket", cfg.Socket)
	return a, nil
}

// start acquires the agent's resources in order; Close releases whatever was acquired.
func (a *Agent) start(ctx context.Context, underlayIdx int) error {
	var err error
	if err := a.startMetrics(); err != nil { // first: a bad --metrics-addr changes nothing
		return err
	}
	if a.hostNS, err = netns.Get(); err != nil {
		return fmt.Errorf("get own netns: %w", err)
	}
	if err := a.loadWireGuardKey(); err != nil {
		return err
	}
	if err := a.openStore(ctx); err != nil { // etcd: also fixes the pod CIDR
		return err
	}
	if err := loader.EnsurePinDir(a.cfg.PinDir); err != nil {
		return err
	}
	if a.unlock, err = loader.LockPinDir(a.cfg.PinDir); err != nil {
		return err
	}
	if a.dp, err = loader.Load(a.cfg.PinDir, loader.Options{LegacyTC: a.cfg.LegacyTC, CTMax: a.cfg.CTMax, Logger: a.log}); err != nil {
		return err
	}
	a.maps = a.dp.Maps()
	a.dmaps = newDomainMaps(a.maps)
	// A restart keeps the policy in force (revision, default, enforcement) until reconcile
	// swaps in the stored one: no window without policy.
	prev, err := a.maps.Node.Get()
	if err != nil {
		return err
	}
	wgIfindex, err := a.openWireGuard()
	if err != nil {
		return err
	}
	mesh, err := meshPortSlice(a.cfg.MeshPorts, a.node.Cluster, a.node.PodCIDR) // etcd: its pod CIDR now
	if err != nil {
		return err
	}
	if err := a.maps.Node.Set(maps.Node{
		UnderlayIP: a.node.UnderlayIP, UnderlayIfIndex: underlayIdx, VNI: a.node.VNI,
		Cluster: a.node.Cluster, RouterMAC: RouterMAC(a.node.UnderlayIP), Gateway: a.node.Gateway,
		NATPortMin: a.cfg.NATPorts[0], NATPortMax: a.cfg.NATPorts[1], WireGuardPort: uint16(a.cfg.WireGuardPort),
		WireGuardIfIndex: wgIfindex, MeshPortMin: mesh[0], MeshPortMax: mesh[1],
		PolicyEnforce: prev.PolicyEnforce, PolicyDefault: prev.PolicyDefault, PolicyRev: prev.PolicyRev,
	}); err != nil {
		return err
	}
	if err := enableForwarding(a.cfg.UnderlayDev); err != nil {
		return err
	}
	if err := a.setupBigTCP(); err != nil {
		return err
	}
	// from_overlay decapsulates only from the hosts in the peers map: fill it before the
	// program is swapped in (after an upgrade from a release without it the map is new and
	// empty, and every peer's VXLAN would be drop_unknown_peer until reconcile).
	a.mu.Lock()
	err = a.reconcilePeerHosts(ctx)
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if err := a.dp.AttachOverlay(a.cfg.UnderlayDev, underlayIdx); err != nil {
		return err
	}
	if err := a.attachXDP(underlayIdx); err != nil {
		return err
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback device: %w", err)
	}
	if err := enableLoopbackReplies(); err != nil {
		return err
	}
	if err := a.dp.AttachHost(lo.Attrs().Index); err != nil {
		return err
	}
	if err := a.reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if err := a.joinCluster(ctx); err != nil { // etcd: register the node, watch the others
		return err
	}
	a.ln, err = listenUnix(a.cfg.Socket)
	return err
}

// listenUnix binds the API socket, replacing a stale socket file left by a dead agent but
// refusing one that still answers.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s: another ebpfnet agent is serving it", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// Run serves the API until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	srv := &http.Server{Handler: a.instrumentAPI(httpapi.Handler(a)), ReadHeaderTimeout: 5 * time.Second}
	go every(ctx, 10*time.Second, a.conntrackGC)
	go every(ctx, serviceHealthInterval, a.serviceHealth)
	go every(ctx, min(max(a.cfg.IdentityGrace/4, time.Second), time.Minute), a.identityGC)
	go a.runMonitor(ctx)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	go a.serveMetrics(ctx)
	if err := srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve API: %w", err)
	}
	return nil
}

// Close releases the agent's file descriptors, locks and socket. Pinned maps and links stay:
// the datapath keeps forwarding until the next agent takes over.
func (a *Agent) Close() error {
	a.leaveCluster()
	var errs []error
	if a.ln != nil {
		errs = append(errs, ignoreClosed(a.ln.Close()))
		_ = os.Remove(a.cfg.Socket)
	}
	if a.metrics.ln != nil {
		errs = append(errs, ignoreClosed(a.metrics.ln.Close()))
	}
	if a.dp != nil {
		errs = append(errs, a.dp.Close())
	}
	if a.wg != nil {
		errs = append(errs, a.wg.Close()) // the device keeps running, as the datapath does
	}
	if a.unlock != nil {
		errs = append(errs, a.unlock())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.hostNS.IsOpen() {
		errs = append(errs, a.hostNS.Close())
	}
	return errors.Join(errs...)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
