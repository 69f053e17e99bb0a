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
	cmd.AddCommand(list)
	return cmd
}

func nodeTable(w io.Writer, nodes []api.NodeInfo) {
	row(w, "NAME", "UNDERLAY IP", "POD CIDR", "VTEP MAC", "LEASE")
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
		row(w, name, ip, n.PodCIDR, mac, lease)
	}
}
