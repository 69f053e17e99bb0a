// Command ebpfnet is the CLI of the ebpfnet datapath: flags and output here, the agent's API
// through package client. It links neither the BPF loader nor the stores, so it starts as fast
// as a minimal Go program; `ebpfnet agent` runs the ebpfnet-agent binary installed beside it.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
)

// globals are the flags every subcommand shares.
type globals struct {
	socket string
	output string
}

// agent is the API client of the agent on --socket.
func (g *globals) agent() *client.Client { return client.NewClient(g.socket) }

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
	socket := api.DefaultSocket
	if s := os.Getenv("EBPFNET_SOCKET"); s != "" {
		socket = s
	}
	root.PersistentFlags().StringVar(&g.socket, "socket", socket, "agent API socket (env EBPFNET_SOCKET)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newAgentCmd(g), newEndpointCmd(g), newPeerCmd(g), newStatusCmd(g), newVersionCmd(g),
		newPublishCmd(g), newNATCmd(g), newPolicyCmd(g), newMonitorCmd(g), newNodeCmd(g), newNetworkCmd(g),
		newServiceCmd(g), newPrefilterCmd(g))
	return root
}

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
