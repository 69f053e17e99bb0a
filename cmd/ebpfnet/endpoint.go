package main

import (
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
		req     api.EndpointRequest
		hostNAT bool
	)
	add := &cobra.Command{
		Use:     "add NAME --netns PATH --ip IP [--label k=v]...",
		Short:   "Attach the container whose netns is PATH with address IP",
		Example: "  ebpfnet endpoint add web1 --netns /var/run/netns/c1 --ip 10.42.1.2 --label app=web",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if cmd.Flags().Changed("host-nat") {
				req.HostNAT = &hostNAT
			}
			ep, err := g.agent().AddEndpoint(req)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ep, func(w io.Writer) { endpointTable(w, []api.Endpoint{ep}) })
		},
	}
	add.Flags().StringVar(&req.Netns, "netns", "", "container network namespace path")
	add.Flags().StringVar(&req.IP, "ip", "", "container IPv4 address")
	add.Flags().StringVar(&req.MAC, "mac", "", "container MAC (default: random)")
	add.Flags().StringArrayVar(&req.Labels, "label", nil, "label key=value (repeatable)")
	add.Flags().StringArrayVar(&req.Links, "link", nil, "endpoint this one links to, for `within: linked` rules (repeatable)")
	add.Flags().StringVar(&req.Network, "network", "", "network to attach to, whose subnet holds --ip (default: default)")
	add.Flags().BoolVar(&hostNAT, "host-nat", true, "masquerade its traffic leaving the cluster (default: the agent's --host-nat)")
	_ = add.MarkFlagRequired("netns")
	_ = add.MarkFlagRequired("ip")

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
	cmd.AddCommand(add, del, list)
	return cmd
}

func endpointTable(w io.Writer, eps []api.Endpoint) {
	row(w, "NAME", "IP", "MAC", "IDENTITY", "VETH", "IFINDEX", "NETNS", "LABELS")
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
		row(w, e.Name, e.IP, e.MAC, e.Identity, e.HostIfName, ifindex, e.Netns, strings.Join(labels, ","))
	}
}
