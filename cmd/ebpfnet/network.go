package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newNetworkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Aliases: []string{"net"}, Short: "Create, list, inspect and remove isolated networks"}
	var (
		req                api.NetworkRequest
		hostNAT, hostPorts bool
	)
	create := &cobra.Command{
		Use:     "create NAME --subnet CIDR",
		Short:   "Create a network with its own subnet and VNI (cluster-wide with --store etcd)",
		Example: "  ebpfnet network create front --subnet 10.43.0.0/16 --vni 4096",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if cmd.Flags().Changed("host-nat") {
				req.HostNAT = &hostNAT
			}
			if cmd.Flags().Changed("host-ports") {
				req.HostPorts = &hostPorts
			}
			n, err := g.agent().CreateNetwork(req)
			if err != nil {
				return err
			}
			info := api.NetworkInfo{Network: n, Endpoints: []string{}}
			return render(cmd.OutOrStdout(), g, info, func(w io.Writer) { networkTable(w, []api.NetworkInfo{info}) })
		},
	}
	f := create.Flags()
	f.StringVar(&req.Subnet, "subnet", "", "IPv4 subnet of its endpoints; must not overlap another network's")
	f.Uint32Var(&req.VNI, "vni", 0, "VXLAN network identifier, unique in the cluster (default: the lowest free from 4096)")
	f.StringVar(&req.Mode, "mode", api.NetworkModeVXLAN, "vxlan, or native: routed without encapsulation (every peer host on the underlay's L2 segment)")
	f.StringVar(&req.DefaultPolicy, "default-policy", "", "allow or deny when no rule matches (default: the cluster policy's)")
	f.BoolVar(&hostNAT, "host-nat", true, "masquerade its endpoints' traffic leaving the cluster (default: the agent's --host-nat)")
	f.BoolVar(&hostPorts, "host-ports", true, "allow published ports on its endpoints")
	f.BoolVar(&req.Internal, "internal", false, "its endpoints reach nothing outside the network")
	f.IntVar(&req.MTU, "mtu", 0, "container MTU (default: the node's container MTU)")
	f.IntVar(&req.NodePrefixLen, "node-prefix-len", 0, "prefix length of each node's slice of the subnet (default: the subnet's + 8, at most 28)")
	_ = create.MarkFlagRequired("subnet")

	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List networks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := g.agent().Networks()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ns, func(w io.Writer) { networkTable(w, ns) })
		},
	}
	inspect := &cobra.Command{
		Use: "inspect NAME", Short: "Show a network, its endpoints and each node's slice (JSON)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := g.agent().Network(args[0])
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), &globals{output: "json"}, n, nil)
		},
	}
	rm := &cobra.Command{
		Use: "rm NAME", Aliases: []string{"del", "delete"}, Short: "Remove a network no endpoint is attached to",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.agent().DeleteNetwork(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "network %s deleted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, inspect, rm)
	return cmd
}

func networkTable(w io.Writer, ns []api.NetworkInfo) {
	row(w, "NAME", "ID", "SUBNET", "VNI", "MODE", "DEFAULT-POLICY", "HOST-NAT", "HOST-PORTS", "INTERNAL", "ENDPOINTS")
	for _, n := range ns {
		eps := strings.Join(n.Endpoints, ",")
		if eps == "" {
			eps = "-"
		}
		def := string(n.DefaultPolicy)
		if def == "" {
			def = "cluster's"
		}
		row(w, n.Name, n.ID, n.Subnet, n.VNI, n.Mode, def, n.HostNAT, n.HostPorts, n.Internal, eps)
	}
}
