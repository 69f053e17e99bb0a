package bench

import (
	"context"
	"fmt"

	"github.com/ebpfnet/ebpfnet/client"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// ebpfnetFlood puts FloodPrefix on the prefilter of host h (the cross pair's server's) and
// returns its two flood variants: XDP (--xdp-mode native; the default, auto, leaves a veth underlay without XDP) and the tc
// prefilter (--xdp-mode off); each restarts h's agent in its mode when it is not in it.
func ebpfnetFlood(c *testbed.Cluster, h *testbed.Host) (*Flood, error) {
	if _, err := c.CLI(h, "prefilter", "add", FloodPrefix.String()); err != nil {
		return nil, err
	}
	if err := addFloodSink(context.Background(), c.Bed); err != nil {
		return nil, err
	}
	drops := func(context.Context) (uint64, error) {
		st, err := client.NewClient(h.Socket).Status()
		if err != nil {
			return 0, err
		}
		for _, ctr := range st.Counters {
			if ctr.Name == "drop_prefilter" {
				return ctr.Packets, nil
			}
		}
		return 0, fmt.Errorf("%s: no drop_prefilter counter in status", h.Name)
	}
	mode := func(want string) func(context.Context) error {
		return func(context.Context) error {
			st, err := client.NewClient(h.Socket).Status()
			if err != nil {
				return err
			}
			if st.XDP.Requested == want {
				return nil
			}
			if err := c.KillAgent(h); err != nil {
				return err
			}
			return c.StartAgent(h, "--xdp-mode", want)
		}
	}
	return &Flood{Sender: "out", Target: h.Name, TargetIP: h.UnderlayIP, Variants: []FloodVariant{
		{Name: "XDP", Enable: mode("native"), Drops: drops, DropsID: MFloodDrops, CPUID: MFloodCPU, FloorID: MFloodFloor, StreamID: MFloodStream, AloneID: MFloodAlone},
		{Name: "tc", Enable: mode("off"), Drops: drops, DropsID: MFloodDropsTC, CPUID: MFloodCPUTC, FloorID: MFloodFloor, StreamID: MFloodStreamTC, AloneID: MFloodAloneTC},
	}}, nil
}

// kernelFlood adds the iptables raw PREROUTING DROP of FloodPrefix in host h's namespace (the
// kernel baseline's earliest drop) and returns its flood variant.
func kernelFlood(ctx context.Context, bed *testbed.Bed, h *testbed.Host) (*Flood, error) {
	if _, err := bed.Run(ctx, h.Name, "iptables", "-w", "-t", "raw", "-A", "PREROUTING", "-s", FloodPrefix.String(), "-j", "DROP"); err != nil {
		return nil, err
	}
	if err := addFloodSink(ctx, bed); err != nil {
		return nil, err
	}
	return &Flood{Sender: "out", Target: h.Name, TargetIP: h.UnderlayIP, Variants: []FloodVariant{{
		Name:   "iptables raw",
		Enable: func(context.Context) error { return nil },
		Drops: func(ctx context.Context) (uint64, error) {
			return iptablesRawDrops(ctx, bed, h.Name, FloodPrefix)
		},
		DropsID: MFloodDrops, CPUID: MFloodCPU, FloorID: MFloodFloor, StreamID: MFloodStream, AloneID: MFloodAlone,
	}}}, nil
}
