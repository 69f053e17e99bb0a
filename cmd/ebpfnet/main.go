// Command ebpfnet is the CLI and the node agent of the ebpfnet datapath. It is thin: flags and
// output here, behaviour in package agent.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/agent"
)

// globals are the flags every subcommand shares.
type globals struct {
	socket string
	output string
}

func (g *globals) client() *agent.Client { return agent.NewClient(g.socket) }

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "ebpfnet",
		Short:         "eBPF/XDP datapath for multi-host container networks",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.output != "table" && g.output != "json" {
				return fmt.Errorf("invalid --output %q: want table or json", g.output)
			}
			return nil
		},
	}
	socket := agent.DefaultSocket
	if s := os.Getenv("EBPFNET_SOCKET"); s != "" {
		socket = s
	}
	root.PersistentFlags().StringVar(&g.socket, "socket", socket, "agent API socket (env EBPFNET_SOCKET)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newAgentCmd(g), newEndpointCmd(g), newPeerCmd(g), newStatusCmd(g), newVersionCmd(g),
		newPublishCmd(g), newNATCmd(g), newPolicyCmd(g), newMonitorCmd(g), newNodeCmd(g))
	return root
}

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
