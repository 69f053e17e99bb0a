package bench

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
)

// Measures of ebpfnet's native network against the ceiling (nativeCross).
const (
	MTCPCrossNative = "tcp-cross-native"
	MRRCrossNative  = "rr-cross-native"
)

// Native network of the networks phase: bench-native, routed without encapsulation, with one
// container per host (nn1 on the first host, 10.202.1.2; nn2 on the second, 10.202.2.2).
const (
	nativeBenchNet    = "bench-native"
	nativeBenchSubnet = "10.202.0.0/16"
)

// NativePair creates the native network on every host, routes each host's /24 of it to that
// host and attaches one container per host through the agents' API; it returns the
// cross-host pair (client on the first host).
func (n *ebpfnetNetworks) NativePair() (Pair, error) {
	var p Pair
	for i, h := range n.c.Hosts {
		ag := client.NewClient(h.Socket)
		if _, err := ag.CreateNetwork(api.NetworkRequest{Name: nativeBenchNet, Subnet: nativeBenchSubnet, Mode: api.NetworkModeNative}); err != nil {
			return p, fmt.Errorf("native network on %s: %w", h.Name, err)
		}
		for j, o := range n.c.Hosts {
			if j != i {
				if _, err := ag.AddPeer(api.PeerRequest{CIDR: fmt.Sprintf("10.202.%d.0/24", j+1), HostIP: o.UnderlayIP.String()}); err != nil {
					return p, fmt.Errorf("native peer on %s: %w", h.Name, err)
				}
			}
		}
		name, ip := fmt.Sprintf("nn%d", i+1), netip.AddrFrom4([4]byte{10, 202, byte(i + 1), 2})
		path, err := n.c.Bed.Netns(name)
		if err != nil {
			return p, err
		}
		if _, err := ag.AddEndpoint(api.EndpointRequest{Name: name, Netns: path, IP: ip.String(), Network: nativeBenchNet}); err != nil {
			return p, fmt.Errorf("native endpoint on %s: %w", h.Name, err)
		}
		if i == 0 {
			p.Client = name
		} else {
			p.Server, p.ServerIP = name, ip
		}
	}
	n.defined++
	return p, nil
}

// nativeCross measures cross-host TCP throughput and RR on ebpfnet's native network against
// the ceiling's hosts (the other topologies have no native network), runs interleaved.
func nativeCross(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	pairs := map[*Topology]Pair{}
	var set []*Topology
	for _, t := range topos {
		switch {
		case t.Networks != nil:
			p, err := t.Networks.NativePair()
			if err != nil {
				res.Fail(MTCPCrossNative, t.Name, err)
				res.Fail(MRRCrossNative, t.Name, err)
				continue
			}
			pairs[t] = p
		case t.Name == TopoCeiling:
			pairs[t] = t.Cross
		default:
			continue
		}
		set = append(set, t)
	}
	for run := 0; run < cfg.Runs; run++ {
		for _, t := range rotate(set, run) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			tcp, err := iperf(ctx, t.Bed, pairs[t], iperfPort, cfg.TCPDuration, false)
			if err != nil {
				res.Fail(MTCPCrossNative, t.Name, err)
			} else {
				res.Add(MTCPCrossNative, t.Name, tcp.Gbps)
			}
			rr, err := sockperfRR(ctx, t.Bed, pairs[t], sockperfPort, cfg.RRDuration)
			if err != nil {
				res.Fail(MRRCrossNative, t.Name, err)
			} else {
				res.Add(MRRCrossNative, t.Name, rr.PerSec)
			}
			logf(cfg.Log, "  %-20s run %d/%d %-8s native cross host: %.2f Gbit/s, %.0f trans/s", phaseNetworks, run+1, cfg.Runs, t.Name, tcp.Gbps, rr.PerSec)
		}
	}
	return nil
}
