package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ebpfnet/ebpfnet/api"
)

// Etcd key layout, below EtcdConfig.Prefix (default DefaultEtcdPrefix, "/ebpfnet/"):
//
//	nodes/<node>             api.NodeRecord JSON, attached to the node's lease
//	cidrs/<cidr>             pod CIDR allocation: {"node": owner, "orphanedAt": time}; outlives leases
//	endpoints/<node>/<name>  api.Endpoint JSON of one endpoint of <node>
//	peers/<node>/<cidr>      api.Peer JSON, a static peer added on <node> (`ebpfnet peer add`)
//	identities/<labelsKey>   decimal identity of a canonical label set (shared by all nodes)
//	identity-ids/<id>        the labelsKey of identity <id> (reverse index)
//	identity-next            decimal next free identity (the allocation counter)
//	policy/policy            the network policy, one JSON document (policy.Policy)
//	services/<name>          api.Service JSON (services_etcd.go)
//	ports/                   reserved for published ports
//	                         (cidrs/ also holds the nodes' slices of networks: network_slices_etcd.go)
//	networks/, network-ids/, network-vnis/   networks (network_etcd.go)
const (
	DefaultEtcdPrefix = "/ebpfnet/"

	etcdNodes        = "nodes/"
	etcdCIDRs        = "cidrs/"
	etcdEndpoints    = "endpoints/"
	etcdPeers        = "peers/"
	etcdIdentities   = "identities/"
	etcdIdentityIDs  = "identity-ids/"
	etcdIdentityNext = "identity-next"
	// EtcdPolicyDir holds the network policy (policy_etcd.go); EtcdPortsDir is reserved for
	// published ports.
	EtcdPolicyDir = "policy/"
	EtcdPortsDir  = "ports/"
)

// Defaults of EtcdConfig.
const (
	DefaultEtcdDialTimeout    = 5 * time.Second
	DefaultEtcdRequestTimeout = 3 * time.Second
)

// ErrUnavailable is returned (wrapped, with the endpoints and the cause) when the cluster
// store cannot be reached or has no leader: the request was not carried out, or its outcome
// is unknown (a timed-out write may still have been applied).
var ErrUnavailable = errors.New("cluster store (etcd) is unavailable")

// ErrCIDRTaken is returned (wrapped) when a pod CIDR is allocated to another node, or when no
// pod CIDR of the asked size is free in the cluster CIDR.
var ErrCIDRTaken = errors.New("pod CIDR not available")

// ErrNodeNameTaken is returned (wrapped) by Register when a live node with the same name but a
// different underlay IP holds the name.
var ErrNodeNameTaken = errors.New("node name is registered by another live node")

// nodeNameRE is the accepted node name: it is a key segment, so no '/'.
var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// EtcdConfig configures the etcd store (flags --etcd-* and --node-name of `ebpfnet agent`).
type EtcdConfig struct {
	Endpoints []string // client URLs, e.g. http://10.0.0.1:2379 or https://etcd1:2379 (required)
	CACert    string   // PEM file of the CA that signed the servers' certificates ("" = system pool)
	Cert, Key string   // PEM files of this client's certificate and key, for client-cert auth
	Prefix    string   // key prefix; "" = DefaultEtcdPrefix; must start and end with '/'
	NodeName  string   // this node's name (required): [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
	// DialTimeout bounds connecting at OpenEtcd; 0 = DefaultEtcdDialTimeout.
	DialTimeout time.Duration
	// RequestTimeout bounds each request of the Store methods (they take no context);
	// 0 = DefaultEtcdRequestTimeout.
	RequestTimeout time.Duration
	Logger         *slog.Logger // warnings about undecodable records; nil = discard
}

// Etcd is the multi-host Store: desired state in etcd, shared by every node's agent. Endpoints
// and static peers are per node (under the node's name); Peers also returns every other live
// node's pod CIDR; identities are cluster-wide. It also registers the node (Register),
// allocates pod CIDRs (AllocatePodCIDR, ClaimPodCIDR) and reports changes (Watch). Safe for
// concurrent use.
type Etcd struct {
	cli     *clientv3.Client
	cfg     EtcdConfig
	prefix  string
	node    string
	timeout time.Duration
	log     *slog.Logger
}

// OpenEtcd connects to etcd and checks that it answers (a linearizable read, so the cluster
// must have a leader) within cfg.DialTimeout. Errors: invalid configuration, unreadable TLS
// files, or ErrUnavailable (wrapped).
func OpenEtcd(cfg EtcdConfig) (*Etcd, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd store: no endpoints (pass --etcd-endpoints)")
	}
	if !nodeNameRE.MatchString(cfg.NodeName) {
		return nil, fmt.Errorf("invalid node name %q: want 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit", cfg.NodeName)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultEtcdPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("invalid etcd prefix %q: want it to start and end with '/'", cfg.Prefix)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultEtcdDialTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultEtcdRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tlsCfg, err := etcdTLS(cfg)
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		TLS:         tlsCfg,
		Logger:      zap.NewNop(),
		// Reconnect within a second of etcd coming back (gRPC's default backoff grows to
		// 120 s), so the node re-registers before its restored lease runs out.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 250 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %s: %w: %v", strings.Join(cfg.Endpoints, ","), ErrUnavailable, err)
	}
	s := &Etcd{cli: cli, cfg: cfg, prefix: cfg.Prefix, node: cfg.NodeName, timeout: cfg.RequestTimeout, log: cfg.Logger}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.DialTimeout)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return s, nil
}

// etcdTLS builds the client TLS configuration, nil when no TLS file is given.
func etcdTLS(cfg EtcdConfig) (*tls.Config, error) {
	if cfg.CACert == "" && cfg.Cert == "" && cfg.Key == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("etcd CA certificate: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA certificate %s: no PEM certificate in it", cfg.CACert)
		}
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return nil, errors.New("etcd client certificate: give both --etcd-cert and --etcd-key")
	}
	if cfg.Cert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

// Close closes the connection. The node's lease is not revoked: its key lives until the lease
// expires, so an agent restarted within the TTL is never seen to leave.
func (s *Etcd) Close() error { return s.cli.Close() }

// NodeName is this node's name.
func (s *Etcd) NodeName() string { return s.node }

// RequestTimeout is the bound of each request of the Store methods.
func (s *Etcd) RequestTimeout() time.Duration { return s.timeout }

// ClientURLs returns the configured etcd client URLs.
func (s *Etcd) ClientURLs() []string { return slices.Clone(s.cfg.Endpoints) }

// Location names the store for humans: etcd://<endpoints><prefix>.
func (s *Etcd) Location() string {
	hosts := make([]string, len(s.cfg.Endpoints))
	for i, e := range s.cfg.Endpoints {
		_, hosts[i], _ = strings.Cut(e, "://")
		if hosts[i] == "" {
			hosts[i] = e
		}
	}
	return "etcd://" + strings.Join(hosts, ",") + s.prefix
}

// Ping does one linearizable read; nil means etcd answers and has a leader.
func (s *Etcd) Ping(ctx context.Context) error {
	_, err := s.cli.Get(ctx, s.prefix+etcdNodes+s.node, clientv3.WithCountOnly())
	return s.wrap("ping", err)
}

// ctx derives a per-request context from parent, bounded by the request timeout.
func (s *Etcd) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, s.timeout)
}

// wrap names the operation and marks connectivity failures with ErrUnavailable.
func (s *Etcd) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w at %s: %v", op, ErrUnavailable, strings.Join(s.cfg.Endpoints, ","), err)
	}
	return fmt.Errorf("etcd %s: %w", op, err)
}

// unavailable reports whether err means etcd could not be reached in time or had no leader.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		switch ee.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			return true
		}
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

func (s *Etcd) endpointKey(name string) string { return s.prefix + etcdEndpoints + s.node + "/" + name }

func (s *Etcd) peerKey(cidr netip.Prefix) string {
	return s.prefix + etcdPeers + s.node + "/" + cidr.String()
}

// Endpoints lists this node's endpoints (endpoints/<node>/), ordered by name.
func (s *Etcd) Endpoints(ctx context.Context) ([]api.Endpoint, error) {
	return s.listEndpoints(ctx, s.prefix+etcdEndpoints+s.node+"/")
}

// ClusterEndpoints lists the endpoints of every node (endpoints/).
func (s *Etcd) ClusterEndpoints(ctx context.Context) ([]api.Endpoint, error) {
	return s.listEndpoints(ctx, s.prefix+etcdEndpoints)
}

func (s *Etcd) listEndpoints(ctx context.Context, prefix string) ([]api.Endpoint, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, s.wrap("list endpoints", err)
	}
	return decodeJSON(make([]api.Endpoint, 0, len(resp.Kvs)), resp.Kvs)
}

// PutEndpoint stores ep under endpoints/<node>/<ep.Name>.
func (s *Etcd) PutEndpoint(ctx context.Context, ep api.Endpoint) error {
	return s.putJSON(ctx, s.endpointKey(ep.Name), "store endpoint "+ep.Name, ep)
}

// DeleteEndpoint removes this node's endpoint name; ErrNotFound if absent.
func (s *Etcd) DeleteEndpoint(ctx context.Context, name string) error {
	return s.deleteKey(ctx, s.endpointKey(name), "endpoint", name)
}

// Peers returns this node's static peers (peers/<node>/) and, for every OTHER live node
// (nodes/), a peer {its pod CIDR, its underlay IP} and one per slice of a network it holds
// (cidrs/), all read at one revision and ordered by CIDR text. Node records that do not decode or lack a CIDR or IPv4 are skipped (logged).
func (s *Etcd) Peers(ctx context.Context) ([]api.Peer, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.prefix+etcdPeers+s.node+"/", clientv3.WithPrefix()),
		clientv3.OpGet(s.prefix+etcdNodes, clientv3.WithPrefix()),
		clientv3.OpGet(s.prefix+etcdCIDRs, clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, s.wrap("list peers", err)
	}
	out, err := decodeJSON([]api.Peer(nil), resp.Responses[0].GetResponseRange().Kvs)
	if err != nil {
		return nil, err
	}
	live := map[string]api.NodeRecord{}
	for _, n := range s.decodeNodes(resp.Responses[1].GetResponseRange().Kvs) {
		if n.rec.Name != s.node {
			live[n.rec.Name] = n.rec
			out = append(out, nodePeer(n.rec, n.rec.PodCIDR))
		}
	}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs { // the live nodes' network slices
		p, err := netip.ParsePrefix(strings.TrimPrefix(string(kv.Key), s.prefix+etcdCIDRs))
		var cr cidrRecord
		if err != nil || json.Unmarshal(kv.Value, &cr) != nil {
			continue // snapshot reports undecodable allocations
		}
		if rec, ok := live[cr.Node]; ok && p != rec.PodCIDR {
			out = append(out, nodePeer(rec, p))
		}
	}
	slices.SortFunc(out, func(a, b api.Peer) int { return strings.Compare(a.CIDR.String(), b.CIDR.String()) })
	return out, nil
}

// nodePeer is the peer route of cidr (a pod CIDR or network slice) of the live node rec.
func nodePeer(rec api.NodeRecord, cidr netip.Prefix) api.Peer {
	return api.Peer{CIDR: cidr, HostIP: rec.UnderlayIP, WGPublicKey: rec.WGPublicKey, WGPort: rec.WGPort}
}

// PutPeer stores a static peer of this node under peers/<node>/<cidr>.
func (s *Etcd) PutPeer(ctx context.Context, p api.Peer) error {
	return s.putJSON(ctx, s.peerKey(p.CIDR), "store peer "+p.CIDR.String(), p)
}

// DeletePeer removes this node's static peer of cidr; ErrNotFound if absent (other nodes'
// pod CIDRs are not deletable peers: they leave with their node).
func (s *Etcd) DeletePeer(ctx context.Context, cidr netip.Prefix) error {
	return s.deleteKey(ctx, s.peerKey(cidr), "peer", cidr.String())
}

// Identity returns the cluster-wide identity of labelsKey (identities/<labelsKey>), allocating
// the next one on first use: one transaction creates the identity key, its reverse key and
// bumps identity-next, and only commits if neither the identity key nor the counter changed
// since they were read (compare-and-swap), so concurrent nodes never get two identities for
// one label set nor one identity for two.
func (s *Etcd) Identity(ctx context.Context, labelsKey string) (uint32, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	idKey, nextKey := s.prefix+etcdIdentities+labelsKey, s.prefix+etcdIdentityNext
	for {
		resp, err := s.cli.Txn(ctx).Then(clientv3.OpGet(idKey), clientv3.OpGet(nextKey)).Commit()
		if err != nil {
			return 0, s.wrap("read identity", err)
		}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			return parseIdentity(kvs[0].Key, kvs[0].Value)
		}
		next, counterCmp := uint32(FirstIdentity), clientv3.Compare(clientv3.CreateRevision(nextKey), "=", 0)
		if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			if next, err = parseIdentity(kvs[0].Key, kvs[0].Value); err != nil {
				return 0, err
			}
			counterCmp = clientv3.Compare(clientv3.ModRevision(nextKey), "=", kvs[0].ModRevision)
		}
		id := strconv.FormatUint(uint64(next), 10)
		txn, err := s.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.CreateRevision(idKey), "=", 0), counterCmp,
		).Then(
			clientv3.OpPut(idKey, id),
			clientv3.OpPut(s.prefix+etcdIdentityIDs+id, labelsKey),
			clientv3.OpPut(nextKey, strconv.FormatUint(uint64(next)+1, 10)),
		).Commit()
		if err != nil {
			return 0, s.wrap("allocate identity", err)
		}
		if txn.Succeeded {
			return next, nil
		}
		// Another node allocated meanwhile: read again (the label set may now have one).
	}
}

func parseIdentity(key, v []byte) (uint32, error) {
	n, err := strconv.ParseUint(string(v), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return uint32(n), nil
}
