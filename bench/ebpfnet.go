package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// NewEbpfnet builds the ebpfnet topology in a new bed with the given prefix, exactly as the
// end-to-end tests do: a switched 2-host cluster, an outside machine, `ebpfnet agent` on
// each host, a full peer mesh, containers c1, c2 on h1 (10.42.1.2, .3) and c3, c4 on h2
// (10.42.2.2, .3) added with `ebpfnet endpoint add`, nginx in c2 published as h1:8080 with
// `ebpfnet publish add`. On error everything built so far is removed.
func NewEbpfnet(ctx context.Context, prefix, binary string) (_ *Topology, err error) {
	t, c, err := newEbpfnetTopology(prefix, binary)
	if err != nil {
		return nil, fmt.Errorf("ebpfnet topology: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("ebpfnet topology: %w", err)
			_ = t.Close()
		}
	}()
	bed := t.Bed
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]
	h1 := c.Hosts[0]
	t.Same = &Pair{Client: c1.Name, Server: c2.Name, ServerIP: c2.IP}
	t.Cross = Pair{Client: c1.Name, Server: c3.Name, ServerIP: c3.IP}
	t.Web = Web{Server: c2.Name, Listen: netip.AddrPortFrom(c2.IP, WebContainerPort),
		Client: "out", Via: netip.AddrPortFrom(h1.UnderlayIP, WebHostPort)}
	if _, err := c.CLI(h1, "publish", "add", c2.Name, fmt.Sprintf("%d:%d/tcp", WebHostPort, WebContainerPort)); err != nil {
		return nil, err
	}
	if _, err := startNginx(ctx, bed, t.Web); err != nil {
		return nil, err
	}
	if err := tuneClient(ctx, bed, "out"); err != nil {
		return nil, err
	}
	t.Ports = &ebpfnetPorts{c: c, host: h1, filler: c1.Name, web: c2.Name, total: 1}
	t.Networks = &ebpfnetNetworks{c: c, defined: 1}
	t.Flood, err = ebpfnetFlood(c, c.Hosts[1])
	return t, err
}

// newEbpfnetTopology builds a topology named TopoEbpfnet in a new bed with the given prefix: a
// switched 2-host cluster whose agents start with agentArgs, made ready by startEbpfnet. On
// error everything built so far is removed.
func newEbpfnetTopology(prefix, binary string, agentArgs ...string) (_ *Topology, _ *testbed.Cluster, err error) {
	bed, err := testbed.New(prefix)
	if err != nil {
		return nil, nil, err
	}
	t := &Topology{Name: TopoEbpfnet, Bed: bed, close: bed.Close}
	defer func() {
		if err != nil {
			_ = t.Close()
		}
	}()
	c, err := testbed.NewSwitchedCluster(bed, binary, 2)
	if err != nil {
		return nil, nil, err
	}
	c.AgentArgs = agentArgs
	t.close = func() error { return closeAll(c.Close, bed.Close) }
	return t, c, startEbpfnet(c)
}

// startEbpfnet makes c an ebpfnet cluster: an outside machine, `ebpfnet agent` on each host
// (with c.AgentArgs), a full peer mesh (WireGuard keys included when encryption is on), and
// containers c1, c2 on h1 (10.42.1.2, .3) and c3, c4 on h2 (10.42.2.2, .3).
func startEbpfnet(c *testbed.Cluster) error {
	if err := c.AddOutside("out", OutsideIP); err != nil {
		return err
	}
	for _, h := range c.Hosts {
		if err := c.StartAgent(h); err != nil {
			return err
		}
	}
	if err := c.MeshPeers(); err != nil {
		return err
	}
	for i, h := range c.Hosts {
		for k := 1; k <= 2; k++ {
			ip := netip.AddrFrom4([4]byte{10, 42, byte(i + 1), byte(k + 1)})
			if _, err := c.AddContainer(h, fmt.Sprintf("c%d", 2*i+k), ip); err != nil {
				return err
			}
		}
	}
	return nil
}

// ebpfnetPorts publishes ports with the ebpfnet CLI.
type ebpfnetPorts struct {
	c      *testbed.Cluster
	host   *testbed.Host
	filler string // endpoint the filler ports go to
	web    string // endpoint of nginx
	total  int    // ports published so far
}

// GrowTo publishes the missing filler ports as one range with `ebpfnet publish add`.
func (p *ebpfnetPorts) GrowTo(_ context.Context, total int) (time.Duration, error) {
	if total <= p.total {
		return 0, nil
	}
	lo := FillerBasePort + p.total - 1
	hi := FillerBasePort + total - 2
	spec := fmt.Sprintf("%d-%d:%d-%d/tcp", lo, hi, lo, hi)
	start := time.Now()
	if _, err := p.c.CLI(p.host, "publish", "add", p.filler, spec); err != nil {
		return 0, err
	}
	d := time.Since(start)
	p.total = total
	return d, nil
}

// AddOne times `ebpfnet publish add` of one port, and the same request sent straight to the
// agent's API over a new connection (what the CLI does after its process has started),
// unpublishing after each.
func (p *ebpfnetPorts) AddOne(_ context.Context, i int) (map[string]time.Duration, error) {
	port := AddPortBase + i
	spec, del := fmt.Sprintf("%d:%d/tcp", port, WebContainerPort), fmt.Sprintf("%d/tcp", port)
	start := time.Now()
	if _, err := p.c.CLI(p.host, "publish", "add", p.web, spec); err != nil {
		return nil, err
	}
	dCLI := time.Since(start)
	if _, err := p.c.CLI(p.host, "publish", "del", p.web, del); err != nil {
		return nil, err
	}
	start = time.Now()
	if _, err := client.NewClient(p.host.Socket).Publish(api.PublishRequest{Endpoint: p.web, Spec: spec}); err != nil {
		return nil, fmt.Errorf("publish %s through the agent API: %w", spec, err)
	}
	dAPI := time.Since(start)
	if err := client.NewClient(p.host.Socket).Unpublish(api.PublishRequest{Endpoint: p.web, Spec: del}); err != nil {
		return nil, fmt.Errorf("unpublish %s through the agent API: %w", del, err)
	}
	return map[string]time.Duration{AddCLI: dCLI, AddAPI: dAPI}, nil
}
