package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newPrefilterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "prefilter", Short: "Drop packets from IPv4 source prefixes on the underlay (XDP deny list)"}
	changed := func(cmd *cobra.Command, ch api.PrefilterChange) error {
		return render(cmd.OutOrStdout(), g, ch, func(w io.Writer) {
			fmt.Fprintf(w, "prefilter: %d prefixes (in force after %.3f s)\n", ch.Prefixes, ch.Seconds)
		})
	}
	add := &cobra.Command{
		Use: "add CIDR...", Short: "Put prefixes (or addresses) on the deny list",
		Example: "  ebpfnet prefilter add 198.51.100.0/24 203.0.113.7",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := g.agent().AddPrefilter(args)
			if err != nil {
				return err
			}
			return changed(cmd, ch)
		},
	}
	del := &cobra.Command{
		Use: "del CIDR...", Aliases: []string{"delete", "rm"}, Short: "Remove prefixes from the deny list",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := g.agent().DeletePrefilter(args)
			if err != nil {
				return err
			}
			return changed(cmd, ch)
		},
	}
	list := &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Short: "List the deny list", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := g.agent().Prefilter()
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, p, func(w io.Writer) {
				for _, pfx := range p.Prefixes {
					fmt.Fprintln(w, pfx)
				}
			})
		},
	}
	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Replace the deny list with FILE's prefixes (one a line, # or ; comments; - for stdin), atomically",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readFileOrStdin(cmd, file)
			if err != nil {
				return err
			}
			ch, err := g.agent().ApplyPrefilter(data)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return changed(cmd, ch)
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "deny list file (- for stdin)")
	_ = apply.MarkFlagRequired("file")
	cmd.AddCommand(add, del, list, apply)
	return cmd
}

// readFileOrStdin reads path, or the command's stdin for "-".
func readFileOrStdin(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(path)
}
