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

// NetworksDefined is how many networks (the default one included) the "many networks" UDP
// measure runs with.
const NetworksDefined = 100

// ebpfnetNetworks creates networks and attaches endpoints through the agents' API.
type ebpfnetNetworks struct {
	c       *testbed.Cluster
	defined int // networks on every host, the default one included
}

// CreateAndAttach times creating network bench-attach-i (subnet 10.201.i.0/24) and attaching
// a new container to it on the first host, both through the agent API (the container's
// netns is made beforehand, untimed); both are removed again.
func (n *ebpfnetNetworks) CreateAndAttach(i int) (time.Duration, error) {
	h := n.c.Hosts[0]
	name := fmt.Sprintf("bench-attach-%d", i)
	path, err := n.c.Bed.Netns(fmt.Sprintf("nb%d", i))
	if err != nil {
		return 0, err
	}
	ag := client.NewClient(h.Socket)
	start := time.Now()
	if _, err := ag.CreateNetwork(api.NetworkRequest{Name: name, Subnet: fmt.Sprintf("10.201.%d.0/24", i%256)}); err != nil {
		return 0, err
	}
	ip := netip.AddrFrom4([4]byte{10, 201, byte(i % 256), 2})
	if _, err := ag.AddEndpoint(api.EndpointRequest{Name: name, Netns: path, IP: ip.String(), Network: name}); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if err := ag.DeleteEndpoint(name); err != nil {
		return 0, err
	}
	return d, ag.DeleteNetwork(name)
}

// DefineUpTo creates networks bench-0, bench-1, ... (subnets 10.200.k.0/24) on every host
// until each has total networks, the default one included.
func (n *ebpfnetNetworks) DefineUpTo(total int) error {
	for ; n.defined < total; n.defined++ {
		k := n.defined - 1
		for _, h := range n.c.Hosts {
			_, err := client.NewClient(h.Socket).CreateNetwork(api.NetworkRequest{Name: fmt.Sprintf("bench-%d", k), Subnet: fmt.Sprintf("10.200.%d.0/24", k)})
			if err != nil {
				return fmt.Errorf("network %d on %s: %w", k, h.Name, err)
			}
		}
	}
	return nil
}

// networks runs the networks phase on the topologies that have networks (ebpfnet): the time
// to create a network and attach an endpoint through the API, cross-host TCP and RR on a
// native network against the ceiling (nativeCross), then cross-host UDP 64 B with
// NetworksDefined networks defined (compare with the one-network row of the same run).
func networks(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	for _, t := range topos {
		if t.Networks == nil {
			continue
		}
		for i := 0; i < cfg.AddRepeats; i++ {
			d, err := t.Networks.CreateAndAttach(i)
			if err != nil {
				res.Fail(MNetworkAttach, t.Name, err)
				logf(cfg.Log, "  %-20s #%d %-8s FAILED: %v", phaseNetworks, i+1, t.Name, err)
				continue
			}
			res.Add(MNetworkAttach, t.Name, ms(d))
			logf(cfg.Log, "  %-20s #%d %-8s create + attach %.1f ms", phaseNetworks, i+1, t.Name, ms(d))
		}
	}
	if err := nativeCross(ctx, topos, cfg, res); err != nil {
		return err
	}
	for _, t := range topos {
		if t.Networks == nil {
			continue
		}
		if err := t.Networks.DefineUpTo(NetworksDefined); err != nil {
			res.Fail(MUDPCrossNetworks, t.Name, err)
			continue
		}
		for run := 0; run < cfg.Runs; run++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := iperf(ctx, t.Bed, t.Cross, iperfPort, cfg.UDPDuration, true)
			if err != nil {
				res.Fail(MUDPCrossNetworks, t.Name, err)
				continue
			}
			res.Add(MUDPCrossNetworks, t.Name, r.RxPPS/1000)
			logf(cfg.Log, "  %-20s run %d/%d %-8s %d networks: %.1f kpps", phaseNetworks, run+1, cfg.Runs, t.Name, NetworksDefined, r.RxPPS/1000)
		}
	}
	return nil
}
