package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Show the cluster's nodes (agents with --store etcd)"}
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List registered nodes and nodes that still hold a pod CIDR", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nodes, err := g.agent().Nodes()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, nodes, func(w io.Writer) { nodeTable(w, nodes) })
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Give this node a new WireGuard key pair (etcd: published to all nodes; local store: then `peer set-key` on every peer host)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.agent().RotateWireGuardKey()
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
