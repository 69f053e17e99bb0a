package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ebpfnet/ebpfnet/agent"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// addStoreFlags registers the agent's store and cluster flags into cfg.Store.
func addStoreFlags(f *pflag.FlagSet, cfg *agent.Config) {
	sc := &cfg.Store
	host, _ := os.Hostname()
	f.StringVar(&sc.Kind, "store", agent.StoreLocal, "desired-state store: local (bbolt in --state-dir) or etcd (shared by all hosts)")
	f.StringSliceVar(&sc.Etcd.Endpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated (with --store etcd)")
	f.StringVar(&sc.Etcd.CACert, "etcd-cacert", "", "PEM file of the CA that signed etcd's server certificates")
	f.StringVar(&sc.Etcd.Cert, "etcd-cert", "", "PEM file of this agent's etcd client certificate")
	f.StringVar(&sc.Etcd.Key, "etcd-key", "", "PEM file of this agent's etcd client key")
	f.StringVar(&sc.Etcd.Prefix, "etcd-prefix", store.DefaultEtcdPrefix, "etcd key prefix of this cluster")
	f.StringVar(&sc.Etcd.NodeName, "node-name", host, "this host's node name in the cluster")
	f.DurationVar(&sc.NodeTTL, "node-ttl", agent.DefaultNodeTTL, "lease TTL of the node's registration; other hosts drop its routes this long after the agent dies")
	f.IntVar(&sc.PodCIDRSize, "pod-cidr-size", agent.DefaultPodCIDRSize, "prefix length of the pod CIDR allocated when --pod-cidr is not given")
	f.DurationVar(&sc.CIDRGrace, "cidr-grace", agent.DefaultCIDRGrace, "how long a departed node's pod CIDR stays reserved for it")
}

// checkStoreFlags rejects etcd flags without --store etcd and --store etcd without endpoints.
func checkStoreFlags(cmd *cobra.Command, cfg *agent.Config) error {
	switch cfg.Store.Kind {
	case agent.StoreEtcd:
		if len(cfg.Store.Etcd.Endpoints) == 0 {
			return fmt.Errorf("--store etcd needs --etcd-endpoints (e.g. http://10.0.0.1:2379)")
		}
	case agent.StoreLocal:
		for _, name := range []string{"etcd-endpoints", "etcd-cacert", "etcd-cert", "etcd-key", "etcd-prefix", "node-name", "node-ttl", "pod-cidr-size", "cidr-grace"} {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s needs --store etcd", name)
			}
		}
	default:
		return fmt.Errorf("invalid --store %q: want local or etcd", cfg.Store.Kind)
	}
	return nil
}

func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Show the cluster's nodes (agents with --store etcd)"}
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List registered nodes and nodes that still hold a pod CIDR", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nodes, err := g.client().Nodes()
			if err != nil {
				return err
			}
			if nodes == nil {
				nodes = []api.NodeInfo{}
			}
			return render(cmd.OutOrStdout(), g, nodes, func(w io.Writer) { nodeTable(w, nodes) })
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Give this node a new WireGuard key pair (etcd: published to all nodes; local store: then `peer set-key` on every peer host)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.client().RotateWireGuardKey()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, st, func(w io.Writer) { wireGuardRows(w, &st) })
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}

func nodeTable(w io.Writer, nodes []api.NodeInfo) {
	row(w, "NAME", "UNDERLAY IP", "POD CIDR", "VTEP MAC", "LEASE", "ENCRYPTION")
	for _, n := range nodes {
		name, ip, mac, lease := n.Name, "-", "-", "expired (holds its pod CIDR)"
		if n.Self {
			name += " (self)"
		}
		if n.UnderlayIP.IsValid() {
			ip = n.UnderlayIP.String()
		}
		if n.VTEPMAC != "" {
			mac = n.VTEPMAC
		}
		if n.LeaseHealthy {
			lease = fmt.Sprintf("healthy (%s left)", time.Duration(n.LeaseTTL)*time.Second)
		} else if n.UnderlayIP.IsValid() {
			lease = "expiring"
		}
		row(w, name, ip, n.PodCIDR, mac, lease, nodeEncryption(n))
	}
}

// nodeEncryption is the ENCRYPTION column of `node list`: whether the node publishes a
// WireGuard key and, for a tunnel of this node, its last handshake and bytes in/out.
func nodeEncryption(n api.NodeInfo) string {
	switch {
	case n.WireGuard != nil:
		return fmt.Sprintf("wireguard, handshake %s, rx %d B, tx %d B", handshakeAge(n.WireGuard.LastHandshake), n.WireGuard.RxBytes, n.WireGuard.TxBytes)
	case n.WGPublicKey != "":
		return fmt.Sprintf("wireguard (port %d)", n.WGPort)
	}
	return "none"
}
