package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newPeerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "peer", Short: "Route pod CIDRs of other hosts through VXLAN"}
	var (
		host, wgKey string
		plain       bool
	)
	add := &cobra.Command{
		Use:     "add CIDR --host IP",
		Short:   "Route the pod CIDR to the peer host whose underlay IPv4 is IP",
		Example: "  ebpfnet peer add 10.42.2.0/24 --host 192.168.50.2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.agent().AddPeer(api.PeerRequest{CIDR: args[0], HostIP: host, PlainVXLAN: plain, WGPublicKey: wgKey})
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, p, func(w io.Writer) { peerTable(w, []api.Peer{p}) })
		},
	}
	add.Flags().StringVar(&host, "host", "", "peer host underlay IPv4 (its VTEP)")
	add.Flags().BoolVar(&plain, "plain-vxlan", false, "the peer is a kernel VXLAN host: send no identity (VXLAN-GBP)")
	add.Flags().StringVar(&wgKey, "wg-public-key", "", "the peer host's WireGuard public key (base64, `wg pubkey`): with --encryption wireguard its traffic is encrypted")
	_ = add.MarkFlagRequired("host")
	del := &cobra.Command{
		Use: "del CIDR", Aliases: []string{"delete", "rm"}, Short: "Remove the route of a pod CIDR",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.agent().DeletePeer(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "peer %s deleted\n", args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List peers", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := g.agent().Peers()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ps, func(w io.Writer) { peerTable(w, ps) })
		},
	}
	setKey := &cobra.Command{
		Use:     "set-key HOST KEY",
		Short:   "Set the WireGuard public key of a peer host (after it ran `node rotate-key`)",
		Example: "  ebpfnet peer set-key 192.168.50.2 $(ssh host2 ebpfnet status -o json | jq -r .wireguard.publicKey)",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := g.agent().SetPeerKey(api.PeerKeyRequest{HostIP: args[0], WGPublicKey: args[1]})
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, ps, func(w io.Writer) { peerTable(w, ps) })
		},
	}
	cmd.AddCommand(add, del, list, setKey)
	return cmd
}

func peerTable(w io.Writer, ps []api.Peer) {
	row(w, "CIDR", "HOST", "WIREGUARD KEY")
	for _, p := range ps {
		key := p.WGPublicKey
		if key == "" {
			key = "-"
		}
		row(w, p.CIDR, p.HostIP, key)
	}
}
