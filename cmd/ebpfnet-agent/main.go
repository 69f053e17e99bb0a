// Command ebpfnet-agent is the ebpfnet node agent: it loads the datapath, keeps the maps in sync
// with its store and serves the API that the `ebpfnet` CLI and the CNI plugin use. It is a
// binary of its own (as cilium-agent is) so the CLI links none of the BPF loader, the stores or
// the etcd client; `ebpfnet agent …` runs it. Flags here, behaviour in package agent.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/agent"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/loader"
)

func newAgentCmd() *cobra.Command {
	var (
		cfg                                                      agent.Config
		underlayIP, cluster, services, pods, natPorts, meshPorts string
	)
	cmd := &cobra.Command{
		Use:           "ebpfnet-agent",
		Short:         "Run the ebpfnet node agent: load the datapath, keep maps in sync, serve the API",
		Version:       api.Version,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.UnderlayIP, err = optAddr("--underlay-ip", underlayIP); err != nil {
				return err
			}
			if cfg.Cluster, err = netip.ParsePrefix(cluster); err != nil {
				return fmt.Errorf("invalid --cluster-cidr %q: %v", cluster, err)
			}
			if cfg.ServiceCIDR, err = netip.ParsePrefix(services); err != nil {
				return fmt.Errorf("invalid --service-cidr %q: %v", services, err)
			}
			if pods != "" {
				if cfg.PodCIDR, err = netip.ParsePrefix(pods); err != nil {
					return fmt.Errorf("invalid --pod-cidr %q: %v", pods, err)
				}
			}
			if cfg.NATPorts, err = portRange("--nat-port-range", natPorts, "1024-32767"); err != nil {
				return err
			}
			if cfg.MeshPorts, err = portRange("--mesh-port-range", meshPorts, "1024-65535"); err != nil {
				return err
			}
			if err := checkStoreFlags(cmd, &cfg); err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := agent.New(ctx, cfg) // a signal during start-up aborts it
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Run(ctx)
		},
	}
	socket := api.DefaultSocket
	if s := os.Getenv("EBPFNET_SOCKET"); s != "" {
		socket = s
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Socket, "socket", socket, "API socket to serve (env EBPFNET_SOCKET)")
	f.StringVar(&cfg.UnderlayDev, "underlay-dev", "", "device that carries VXLAN to peer hosts (required)")
	f.StringVar(&underlayIP, "underlay-ip", "", "outer source IPv4 (default: first IPv4 of --underlay-dev)")
	f.StringVar(&cluster, "cluster-cidr", agent.DefaultCluster, "cluster CIDR shared by all hosts")
	f.StringVar(&services, "service-cidr", agent.DefaultServiceCIDR, "service VIPs are allocated here (outside the cluster CIDR)")
	f.StringVar(&pods, "pod-cidr", "", "this host's pod CIDR inside the cluster CIDR (default: none)")
	f.Uint32Var(&cfg.VNI, "vni", agent.DefaultVNI, "VXLAN network identifier (24 bits)")
	f.IntVar(&cfg.MTU, "mtu", 0, "container MTU (default: underlay MTU - 50, - 60 more with --encryption wireguard)")
	f.StringVar(&cfg.PinDir, "pin-dir", loader.DefaultPinDir, "bpffs directory for pinned maps and links")
	f.StringVar(&cfg.StateDir, "state-dir", agent.DefaultStateDir, "directory of the agent's state file")
	f.BoolVar(&cfg.LegacyTC, "legacy-tc", false, "attach with tc clsact filters instead of tcx")
	f.StringVar(&cfg.XDPMode, "xdp-mode", "auto", "XDP program on the underlay (prefilter, early drops): auto (native, but off on a veth underlay, where it costs throughput), native (generic where the driver lacks it), generic or off (the tc program enforces the prefilter)")
	f.BoolVar(&cfg.HostNAT, "host-nat", true, "masquerade endpoint traffic leaving the cluster (default for new endpoints)")
	f.StringVar(&natPorts, "nat-port-range", "", "masquerade source-port range FIRST-LAST (default: 1024 up to net.ipv4.ip_local_port_range's first port, so the host's own connections never take a masquerade tuple)")
	f.StringVar(&meshPorts, "mesh-port-range", "", "routing-mesh source-port range FIRST-LAST, e.g. 1024-65535, split in equal slices among the pod CIDRs of the cluster CIDR: an entry host translates a mesh client's source port into its own slice (default: off, the client's port is kept)")
	f.IntVar(&cfg.CTMax, "ct-max", 262144, "conntrack/NAT map entries (new flows are refused when full)")
	f.IntVar(&cfg.CTMaxPerEndpoint, "ct-max-per-endpoint", 0, "conntrack entries one endpoint may hold (0: a fair share, ct-max / (endpoints + 1))")
	f.DurationVar(&cfg.IdentityGrace, "identity-gc-grace", agent.DefaultIdentityGrace, "free an identity no endpoint of the cluster has used for this long")
	f.StringVar(&cfg.Encryption, "encryption", agent.EncryptionNone, "encryption between hosts: none or wireguard")
	f.StringVar(&cfg.WireGuardImpl, "wireguard-impl", "auto", "WireGuard implementation: auto (kernel if present), kernel or userspace")
	f.IntVar(&cfg.WireGuardPort, "wireguard-port", agent.WireGuardPort, "WireGuard UDP listen port")
	f.StringVar(&cfg.WireGuardHelper, "wireguard-helper", "", "path of ebpfnet-wireguard (default: next to this executable)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. :9962 (default: off)")
	f.BoolVar(&cfg.BigTCP, "big-tcp", true, "BIG TCP for IPv4: GSO/GRO size of container veths 192 KiB when the underlay carries it (Linux >= 6.3)")
	f.BoolVar(&cfg.BigTCPUnderlay, "big-tcp-underlay", true, "with --big-tcp, raise the underlay device's IPv4 GSO/GRO size where it can (kept after the agent exits); false: leave it as it is")
	addStoreFlags(f, &cfg)
	_ = cmd.MarkFlagRequired("underlay-dev")
	return cmd
}

// portRange parses flag's value s, FIRST-LAST (example: an example of the syntax).
func portRange(flag, s, example string) ([2]uint16, error) {
	if s == "" {
		return [2]uint16{}, nil // the agent's default
	}
	lo, hi, ok := strings.Cut(s, "-")
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return [2]uint16{}, fmt.Errorf("invalid %s %q: want FIRST-LAST, e.g. %s", flag, s, example)
	}
	return [2]uint16{uint16(l), uint16(h)}, nil
}

func optAddr(flag, s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid %s %q: %v", flag, s, err)
	}
	return a, nil
}

func main() {
	if err := newAgentCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
