package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newPublishCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "publish", Short: "Publish container ports on the host (BPF DNAT, no iptables)"}
	var req api.PublishRequest
	add := &cobra.Command{
		Use:   "add ENDPOINT HOSTPORT[-END]:CONTAINERPORT[-END][/tcp|udp]",
		Short: "Forward host ports to an endpoint",
		Example: "  ebpfnet publish add web1 8080:80/tcp\n" +
			"  ebpfnet publish add web1 9000-9099:9000-9099/udp --host-ip 192.0.2.10",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Endpoint, req.Spec = args[0], args[1]
			m, err := g.agent().Publish(req)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, m, func(w io.Writer) {
				portTable(w, map[string][]api.PortMapping{req.Endpoint: {m}})
			})
		},
	}
	add.Flags().StringVar(&req.HostIP, "host-ip", "", "host address to publish on (default: every host address)")
	add.Flags().BoolVar(&req.Replace, "replace", false, "move the same mapping from another endpoint, existing flows included")
	del := &cobra.Command{
		Use: "del ENDPOINT HOSTPORT[-END][/tcp|udp]", Aliases: []string{"delete", "rm"},
		Short: "Stop publishing host ports", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Endpoint, req.Spec = args[0], args[1]
			if err := g.agent().Unpublish(req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unpublished %s from %s\n", args[1], args[0])
			return nil
		},
	}
	del.Flags().StringVar(&req.HostIP, "host-ip", "", "host address the ports were published on")
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List published ports", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ports, err := g.agent().PublishedPorts()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ports, func(w io.Writer) { portTable(w, ports) })
		},
	}
	cmd.AddCommand(add, del, list)
	return cmd
}

func portRange(lo, n uint16) string {
	if n == 0 {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, lo+n)
}

func portTable(w io.Writer, ports map[string][]api.PortMapping) {
	row(w, "ENDPOINT", "HOST IP", "HOST PORT", "CONTAINER PORT", "PROTO")
	names := make([]string, 0, len(ports))
	for n := range ports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, m := range ports[n] {
			hostIP := "*"
			if m.HostIP.IsValid() {
				hostIP = m.HostIP.String()
			}
			span := m.HostPortEnd - m.HostPort
			row(w, n, hostIP, portRange(m.HostPort, span), portRange(m.ContainerPort, span), m.Proto)
		}
	}
}

func newNATCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "nat", Short: "Inspect BPF connection tracking and NAT"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List live conntrack/NAT entries", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := g.agent().NATEntries()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, entries, func(w io.Writer) {
				row(w, "KIND", "PROTO", "SOURCE", "DESTINATION", "TRANSLATED", "IDLE")
				for _, e := range entries {
					row(w, e.Kind, e.Proto, fmt.Sprintf("%s:%d", e.Src, e.SrcPort), fmt.Sprintf("%s:%d", e.Dst, e.DstPort),
						fmt.Sprintf("%s:%d", e.To, e.ToPort), fmt.Sprintf("%.0fs", e.IdleSecs))
				}
			})
		},
	})
	return cmd
}
