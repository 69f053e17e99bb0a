package bench

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// Same-host ceiling: two namespaces joined by one veth pair with the containers' MTU.
var (
	ceilingSameClient = netip.MustParsePrefix("10.99.0.1/24")
	ceilingSameServer = netip.MustParsePrefix("10.99.0.2/24")
)

// ceilingSameMTU is the containers' MTU in the other topologies (underlay 1500 - VXLAN 50).
const ceilingSameMTU = 1450

// NewCeiling builds the ceiling in a new bed with the given prefix: the same switched 2-host
// underlay (MTU 1500) and outside machine, with no overlay, no containers and no NAT. The
// cross-host pair is h1 -> h2 over the underlay; nginx listens on h1's underlay address at
// the published port, so wrk from outside reaches it directly. The same-host pair is s1 -> s2,
// two namespaces joined by one veth pair (MTU 1450, no BPF, no bridge): the least any
// same-host container path can cost.
func NewCeiling(ctx context.Context, prefix string) (_ *Topology, err error) {
	bed, err := testbed.New(prefix)
	if err != nil {
		return nil, err
	}
	t := &Topology{Name: TopoCeiling, Bed: bed, close: bed.Close}
	defer func() {
		if err != nil {
			err = fmt.Errorf("ceiling: %w", err)
			_ = t.Close()
		}
	}()
	c, err := testbed.NewSwitchedCluster(bed, "", 2)
	if err != nil {
		return nil, err
	}
	if err := c.AddOutside("out", OutsideIP); err != nil {
		return nil, err
	}
	h1, h2 := c.Hosts[0], c.Hosts[1]
	t.Cross = Pair{Client: h1.Name, Server: h2.Name, ServerIP: h2.UnderlayIP}
	for _, ns := range []string{"s1", "s2"} {
		if _, err := bed.Netns(ns); err != nil {
			return nil, err
		}
	}
	if err := bed.Link("s1", "eth0", ceilingSameClient, "s2", "eth0", ceilingSameServer, ceilingSameMTU); err != nil {
		return nil, err
	}
	t.Same = &Pair{Client: "s1", Server: "s2", ServerIP: ceilingSameServer.Addr()}
	direct := netip.AddrPortFrom(h1.UnderlayIP, WebHostPort)
	t.Web = Web{Server: h1.Name, Listen: direct, Client: "out", Via: direct}
	if _, err := startNginx(ctx, bed, t.Web); err != nil {
		return nil, err
	}
	if err := tuneClient(ctx, bed, "out"); err != nil {
		return nil, err
	}
	return t, nil
}
