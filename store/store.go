// Package store keeps the agent's desired state: endpoints, peers and label identities. The
// Store interface has two implementations: Local, the embedded single-host one (bbolt), and
// Etcd, shared by all hosts, which also registers nodes with a lease, allocates their pod
// CIDRs and turns other live nodes into peers (see the key layout in etcd.go).
package store

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// ErrNotFound is returned (wrapped) for a name or CIDR the store does not hold.
var ErrNotFound = errors.New("not found")

// ErrExists is returned (wrapped) when creating a record whose name is taken, and by
// CreateNetwork also when the datapath id or the VNI is.
var ErrExists = errors.New("already exists")

// FirstIdentity is the first identity given to a label set; lower numbers are reserved
// (Cilium's numbering: 1 host, 2 world, 3 cluster-wide unknown).
const FirstIdentity = 256 // FIRST_LABEL_IDENTITY in bpf/lib/maps.h (checked by TestGeneratedConstants)

// Store is the agent's persistent desired state. Implementations are safe for concurrent use.
// Every method takes the caller's ctx: Etcd derives each request's context from it, bounded
// by its request timeout (a cancelled ctx fails the call with ErrUnavailable); Local (bbolt,
// local file I/O) does not wait on anything cancellable and ignores it.
type Store interface {
	Endpoints(ctx context.Context) ([]api.Endpoint, error)
	// PutEndpoint creates or replaces the endpoint named ep.Name.
	PutEndpoint(ctx context.Context, ep api.Endpoint) error
	DeleteEndpoint(ctx context.Context, name string) error
	Peers(ctx context.Context) ([]api.Peer, error)
	// PutPeer creates or replaces the peer for p.CIDR.
	PutPeer(ctx context.Context, p api.Peer) error
	DeletePeer(ctx context.Context, cidr netip.Prefix) error
	// Identity returns the identity of a canonical label-set key, allocating the next free one
	// (from FirstIdentity) on first use. Stable across restarts.
	Identity(ctx context.Context, labelsKey string) (uint32, error)
	// ClusterEndpoints lists the endpoints of every node (with the local store: this node's),
	// for identities of remote addresses and `policy explain`.
	ClusterEndpoints(ctx context.Context) ([]api.Endpoint, error)
	// Identities lists every allocated identity as labelsKey -> identity.
	Identities(ctx context.Context) (map[string]uint32, error)
	// DeleteIdentity frees labelsKey's identity if it is still id (a compare-and-delete, so a
	// concurrent re-allocation is never removed); the number itself is not handed out again.
	DeleteIdentity(ctx context.Context, labelsKey string, id uint32) error
	// Policy returns the network policy (the zero Policy: default allow, no rules, when none
	// was stored).
	Policy(ctx context.Context) (policy.Policy, error)
	// PutPolicy replaces the network policy as a whole.
	PutPolicy(ctx context.Context, p policy.Policy) error
	// Networks lists the created networks (cluster-wide with etcd), ordered by name; the
	// default network is not stored.
	Networks(ctx context.Context) ([]api.Network, error)
	// CreateNetwork stores n atomically if no stored network has its name, ID or VNI, else
	// fails with ErrExists (wrapped) and changes nothing.
	CreateNetwork(ctx context.Context, n api.Network) error
	// DeleteNetwork removes the named network and the nodes' slices of it; ErrNotFound if
	// absent.
	DeleteNetwork(ctx context.Context, name string) error
	// NetworkSlice returns this node's /bits slice of a network's subnet, allocating one on
	// first use: the one holding hint if valid and free, else (Etcd) the lowest free in the
	// cluster, reused grace after its node left, or (Local) the first overlapping no static
	// peer. ErrCIDRTaken (wrapped) when none is free.
	NetworkSlice(ctx context.Context, subnet netip.Prefix, bits int, hint netip.Addr, grace time.Duration) (netip.Prefix, error)
	// NetworkSlices lists the allocated slices (Etcd: of every node, the pod CIDRs of the
	// cluster CIDR included; Local: this node's), ordered by address.
	NetworkSlices(ctx context.Context) ([]api.NetworkSlice, error)
	// Services lists the services (with etcd: the cluster's), ordered by name.
	Services(ctx context.Context) ([]api.Service, error)
	// CreateService stores svc atomically unless its name is taken (ErrExists, wrapped).
	CreateService(ctx context.Context, svc api.Service) error
	// DeleteService removes the named service (ErrNotFound, wrapped, when absent).
	DeleteService(ctx context.Context, name string) error
	Close() error
}
