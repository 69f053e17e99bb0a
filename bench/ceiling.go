package bench

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// NewCeiling builds the ceiling in a new bed with the given prefix: the same switched 2-host
// underlay (MTU 1500) and outside machine, with no overlay, no containers and no NAT. The
// cross-host pair is h1 -> h2 over the underlay; nginx listens on h1's underlay address at
// the published port, so wrk from outside reaches it directly. Same-host is not applicable.
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
