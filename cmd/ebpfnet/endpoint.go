package main

import (
	"cmp"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newEndpointCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "endpoint", Short: "Attach, detach and list containers", Aliases: []string{"ep"}}
	var (
		req       api.EndpointRequest
		hostNAT   bool
		ips, nets []string
	)
	add := &cobra.Command{
		Use:   "add NAME --netns PATH [--ip IP] [--network NET] [--ip IP --network NET]... [--label k=v]...",
		Short: "Attach the container whose netns is PATH with address IP, or without --ip the next free one of this node's pool (one interface per --network: eth0, eth1, ...)",
		Example: "  ebpfnet endpoint add web1 --netns /var/run/netns/c1 --ip 10.42.1.2 --label app=web\n" +
			"  ebpfnet endpoint add web1 --netns /var/run/netns/c1 --network front --ip 10.43.1.2 --network back --ip 10.44.1.2",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ips) == 0 { // every address from this node's pools
				ips = make([]string, max(len(nets), 1))
			}
			if len(ips) != max(len(nets), 1) {
				return fmt.Errorf("%d --ip for %d --network: give one --ip per --network, in the same order, or none", len(ips), len(nets))
			}
			req.Name, req.IP = args[0], ips[0]
			if len(nets) > 0 {
				req.Network = nets[0]
			}
			if cmd.Flags().Changed("host-nat") {
				req.HostNAT = &hostNAT
			}
			eps, err := addEndpoint(g, req, nets, ips)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, eps[0], func(w io.Writer) { endpointTable(w, eps) })
		},
	}
	add.Flags().StringVar(&req.Netns, "netns", "", "container network namespace path")
	add.Flags().StringArrayVar(&ips, "ip", nil, "container IPv4 address (one per --network; default: the next free address of this node's pod CIDR or slice of the network)")
	add.Flags().StringVar(&req.MAC, "mac", "", "container MAC (default: random)")
	add.Flags().StringArrayVar(&req.Labels, "label", nil, "label key=value (repeatable)")
	add.Flags().StringArrayVar(&req.Links, "link", nil, "endpoint this one links to, for `within: linked` rules (repeatable)")
	add.Flags().StringArrayVar(&nets, "network", nil, "network whose subnet holds the --ip of the same rank (default: default; repeatable: eth0, eth1, ...)")
	add.Flags().BoolVar(&hostNAT, "host-nat", true, "masquerade its traffic leaving the cluster (default: the agent's --host-nat)")
	_ = add.MarkFlagRequired("netns")

	del := &cobra.Command{
		Use: "del NAME", Aliases: []string{"delete", "rm"}, Short: "Detach a container and remove its veth",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.agent().DeleteEndpoint(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "endpoint %s deleted\n", args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List endpoints", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eps, err := g.agent().Endpoints()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, eps, func(w io.Writer) { endpointTable(w, eps) })
		},
	}
	cmd.AddCommand(add, del, list, newConnectCmd(g), newDisconnectCmd(g))
	return cmd
}

// addEndpoint attaches req (its first network), then connects the container to each further
// network of nets with the ip of the same rank; if one fails, the endpoint is deleted again.
func addEndpoint(g *globals, req api.EndpointRequest, nets, ips []string) ([]api.Endpoint, error) {
	ep, err := g.agent().AddEndpoint(req)
	if err != nil {
		return nil, err
	}
	eps := []api.Endpoint{ep}
	for i := 1; i < len(nets); i++ {
		more, err := g.agent().ConnectEndpoint(req.Name, api.ConnectRequest{Network: nets[i], IP: ips[i]})
		if err != nil {
			if derr := g.agent().DeleteEndpoint(req.Name); derr != nil {
				return nil, fmt.Errorf("%w (and removing endpoint %s again failed: %v)", err, req.Name, derr)
			}
			return nil, err
		}
		eps = append(eps, more)
	}
	return eps, nil
}

func newConnectCmd(g *globals) *cobra.Command {
	var req api.ConnectRequest
	cmd := &cobra.Command{
		Use:     "connect NAME NETWORK [--ip IP]",
		Short:   "Give the endpoint's container one more interface, on NETWORK (docker network connect)",
		Example: "  ebpfnet endpoint connect web1 back --ip 10.44.1.2",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Network = args[1]
			ep, err := g.agent().ConnectEndpoint(args[0], req)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ep, func(w io.Writer) { endpointTable(w, []api.Endpoint{ep}) })
		},
	}
	cmd.Flags().StringVar(&req.IP, "ip", "", "its IPv4 address on NETWORK (default: the next free address of this node's slice)")
	cmd.Flags().StringVar(&req.MAC, "mac", "", "its MAC (default: random)")
	return cmd
}

func newDisconnectCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "disconnect NAME NETWORK",
		Short: "Remove the endpoint's interface on NETWORK; its other interfaces keep their flows",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.agent().DisconnectEndpoint(args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "endpoint %s disconnected from network %s\n", args[0], args[1])
			return nil
		},
	}
}

func endpointTable(w io.Writer, eps []api.Endpoint) {
	row(w, "NAME", "IP", "MAC", "IDENTITY", "VETH", "IFINDEX", "NETNS", "NETWORK", "LABELS")
	for _, e := range eps {
		labels := make([]string, 0, len(e.Labels))
		for k, v := range e.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		ifindex := fmt.Sprint(e.IfIndex)
		if e.IfIndex == 0 {
			ifindex = "gone"
		}
		row(w, e.Name, e.IP, e.MAC, e.Identity, e.HostIfName, ifindex, e.Netns, cmp.Or(e.Network, api.DefaultNetwork), strings.Join(labels, ","))
	}
}
