package bench

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// Shared addressing of the three topologies (testbed.Cluster's underlay 172.31.0.0/24).
var (
	// OutsideIP is the machine outside the cluster, on the underlay switch, that runs wrk.
	OutsideIP = netip.MustParseAddr("172.31.0.100")
)

// Published-port layout, identical for ebpfnet and the kernel baseline.
const (
	WebHostPort      = 8080  // published host port of nginx
	WebContainerPort = 80    // nginx's port in its container
	FillerBasePort   = 20000 // first host (and container) port of the filler mappings
	AddPortBase      = 40000 // ports the add-one-port measure publishes (and removes again)
)

// Topology is one built network: namespaces, where each measure's client and server run, and
// how ports are published. Close removes everything it created.
type Topology struct {
	Name  string
	Bed   *testbed.Bed
	Same  *Pair // same-host container pair; nil when not applicable
	Cross Pair  // cross-host pair
	Web   Web   // published-port measure
	Ports PortPublisher
	// Networks creates networks and attaches endpoints (ebpfnet only; nil elsewhere).
	Networks *ebpfnetNetworks
	// Mesh is where the routing-mesh measure's wrk runs and connects (a mesh port balanced
	// over two backends on the other host), Services how services are added; nil: not measured.
	Mesh     *Web
	Services MeshServices
	// Helpers are PIDs of processes outside the pair that carry its traffic (the userspace
	// WireGuard helpers of the encrypted phase); their CPU time counts in CPU per Gbit/s.
	Helpers []int
	// Flood is the flood measure's setup; nil: not measured (the ceiling).
	Flood *Flood
	close func() error
}

// Close tears the topology down (idempotent).
func (t *Topology) Close() error {
	if t == nil || t.close == nil {
		return nil
	}
	err := t.close()
	t.close = nil
	return err
}

// PortPublisher is how a topology publishes container ports.
type PortPublisher interface {
	// GrowTo publishes filler ports until total ports are published (the web port
	// included) and returns how long it took. total never shrinks between calls.
	GrowTo(ctx context.Context, total int) (time.Duration, error)
	// AddOne publishes one more port (AddPortBase+i), returns how long each way of doing it
	// took (keyed by method), and removes it again.
	AddOne(ctx context.Context, i int) (map[string]time.Duration, error)
}

// Add-one-port methods.
const (
	AddCLI      = "ebpfnet publish add"
	AddAPI      = "agent API"
	AddPortmap  = "portmap ADD"
	AddIptables = "iptables -t nat -A"
)

// closeAll runs fns in order and joins their errors.
func closeAll(fns ...func() error) error {
	var errs []error
	for _, f := range fns {
		if f != nil {
			errs = append(errs, f())
		}
	}
	return errors.Join(errs...)
}
