package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newServiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "service", Aliases: []string{"svc"}, Short: "Virtual IPs balanced over endpoints on every host (BPF, Maglev)"}
	var req api.ServiceRequest
	add := &cobra.Command{
		Use:   "add NAME --port PORT[/tcp|udp] --selector SELECTOR",
		Short: "Create a service: a VIP:port balanced over the endpoints the selector picks",
		Example: "  ebpfnet service add web --port 80/tcp --selector app=web\n" +
			"  ebpfnet service add dns --port 53/udp --selector 'app in (dns)' --vip 10.43.0.10 --affinity client-ip",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			s, err := g.agent().AddService(req)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, s, func(w io.Writer) { serviceTable(w, []api.ServiceInfo{s}) })
		},
	}
	f := add.Flags()
	f.StringVar(&req.Port, "port", "", "service port and protocol, e.g. 80/tcp (backends serve on it too)")
	f.StringVar(&req.Selector, "selector", "", "label selector of the backends (Kubernetes syntax), e.g. app=web")
	f.StringVar(&req.VIP, "vip", "", "virtual IP in the service CIDR (default: the first free one)")
	f.Uint16Var(&req.Publish, "publish", 0, "routing-mesh port: answers on every address of every host, reaching a backend on any host")
	f.StringVar(&req.LB, "lb", api.LBMaglev, "backend choice: maglev (consistent hashing) or random")
	f.StringVar(&req.Affinity, "affinity", api.AffinityNone, "none, or client-ip (every connection of a client to one backend)")
	f.StringVar(&req.HealthCheck, "health-check", "", "tcp or tcp:PORT: each host probes its backends every second; failing ones are no backends meanwhile")
	_ = add.MarkFlagRequired("port")
	_ = add.MarkFlagRequired("selector")
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List services and their backends", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ss, err := g.agent().Services()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ss, func(w io.Writer) { serviceTable(w, ss) })
		},
	}
	inspect := &cobra.Command{
		Use: "inspect NAME", Short: "Show a service and each backend", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.agent().Service(args[0])
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, s, func(w io.Writer) {
				serviceTable(w, []api.ServiceInfo{s})
				fmt.Fprintln(w)
				row(w, "BACKEND", "IP", "HOST")
				for _, b := range s.Backends {
					host := "remote"
					if b.Local {
						host = "local"
					}
					row(w, b.Endpoint, b.IP, host)
				}
			})
		},
	}
	del := &cobra.Command{
		Use: "del NAME", Aliases: []string{"delete", "rm"}, Short: "Delete a service", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.agent().DeleteService(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted service %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, inspect, del)
	return cmd
}

func serviceTable(w io.Writer, ss []api.ServiceInfo) {
	row(w, "NAME", "VIP", "PORT", "SELECTOR", "LB", "AFFINITY", "BACKENDS")
	for _, s := range ss {
		names := make([]string, len(s.Backends))
		for i, b := range s.Backends {
			names[i] = b.Endpoint
		}
		backends := strings.Join(names, ",")
		if backends == "" {
			backends = "-"
		}
		row(w, s.Name, s.VIP, fmt.Sprintf("%d/%s", s.Port, s.Proto), s.Selector, s.LB, s.Affinity, backends)
	}
}
