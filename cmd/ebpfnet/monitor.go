package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newMonitorCmd(g *globals) *cobra.Command {
	var count int
	cmd := &cobra.Command{
		Use: "monitor", Short: "Stream dropped packets live, with the reason and the deciding policy rule", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out, enc := cmd.OutOrStdout(), json.NewEncoder(cmd.OutOrStdout())
			seen := 0
			return g.agent().Monitor(ctx, func(e api.DropEvent) bool {
				if g.output == "json" {
					_ = enc.Encode(e)
				} else {
					fmt.Fprintln(out, dropLine(e))
				}
				seen++
				return count == 0 || seen < count
			})
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	return cmd
}

// dropLine is one human-readable line: time, reason, tuple, endpoints, identities, rule.
func dropLine(e api.DropEvent) string {
	end := func(ip fmt.Stringer, port uint16, name string, id uint32) string {
		s := ip.String()
		if port != 0 {
			s += fmt.Sprint(":", port)
		}
		if name != "" {
			s += " (" + name + ")"
		}
		if id != 0 {
			s += fmt.Sprintf(" id=%d", id)
		}
		return s
	}
	line := fmt.Sprintf("%s %s %s %s -> %s", e.Time.Format("15:04:05.000"), e.Reason, e.Proto,
		end(e.Src, e.SrcPort, e.SrcEndpoint, e.SrcIdentity), end(e.Dst, e.DstPort, e.DstEndpoint, e.DstIdentity))
	if e.Rule >= 0 {
		line += fmt.Sprintf(" rule %d: %s", e.Rule, e.RuleText)
	} else if e.Rule == -1 {
		line += " (default action)"
	}
	return line
}
