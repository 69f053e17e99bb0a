package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ebpfnet/ebpfnet/api"
)

func newPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Network policy (Rancher's model), enforced in BPF on both hosts"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "default allow|deny", Short: "Set the default action", Args: cobra.ExactArgs(1),
			ValidArgs: []string{"allow", "deny"},
			RunE: func(cmd *cobra.Command, args []string) error {
				p, err := g.agent().SetPolicyDefault(args[0])
				return printPolicy(cmd, g, p, err)
			},
		},
		newRuleCmd(g, api.ActionAllow), newRuleCmd(g, api.ActionDeny),
		&cobra.Command{
			Use: "list", Aliases: []string{"ls"}, Short: "List the rules, numbered, with drops on this host", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := g.agent().Policy()
				if err != nil {
					return err
				}
				if st.Rules == nil {
					st.Rules = []api.PolicyRule{}
				}
				return render(cmd.OutOrStdout(), g, st, func(w io.Writer) { policyTable(w, st) })
			},
		},
		&cobra.Command{
			Use: "delete N", Aliases: []string{"del", "rm"}, Short: "Delete rule N (later rules move up)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				n, err := strconv.Atoi(args[0])
				if err != nil {
					return fmt.Errorf("rule %q: want its number from `ebpfnet policy list`", args[0])
				}
				p, err := g.agent().DeletePolicyRule(n)
				return printPolicy(cmd, g, p, err)
			},
		},
		newApplyCmd(g), newExplainCmd(g),
	)
	return cmd
}

func newRuleCmd(g *globals, action api.PolicyAction) *cobra.Command {
	var (
		from, to, within, network string
		between, ports            []string
	)
	cmd := &cobra.Command{
		Use:   string(action) + " [--from SEL --to SEL | --within stack|service|linked | --between groupBy=KEY [--between selector=SEL]] [--port 80/tcp]...",
		Short: "Append a rule that " + string(action) + "s traffic",
		Example: "  ebpfnet policy " + string(action) + " --from app=web --to app=db --port 5432/tcp\n" +
			"  ebpfnet policy " + string(action) + " --within stack\n" +
			"  ebpfnet policy " + string(action) + " --between groupBy=tier\n" +
			"  ebpfnet policy " + string(action) + " --from app=web --to app=db --port 5432 --network front",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := api.NetworkPolicyRule{Action: action, Within: within, Ports: ports, Network: network}
			if from != "" {
				r.From = &api.NetworkPolicyRuleMember{Selector: from}
			}
			if to != "" {
				r.To = &api.NetworkPolicyRuleMember{Selector: to}
			}
			for _, b := range between {
				if r.Between == nil {
					r.Between = &api.NetworkPolicyRuleBetween{}
				}
				switch k, v, _ := strings.Cut(b, "="); k {
				case "groupBy":
					r.Between.GroupBy = v
				case "selector":
					r.Between.Selector = v
				default:
					return fmt.Errorf("invalid --between %q: want groupBy=KEY or selector=SEL", b)
				}
			}
			p, err := g.agent().AddPolicyRule(r)
			return printPolicy(cmd, g, p, err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source selector, e.g. app=web or 'tier in (a,b)'")
	f.StringVar(&to, "to", "", "destination selector")
	f.StringVar(&within, "within", "", "stack, service or linked")
	f.StringArrayVar(&between, "between", nil, "groupBy=KEY and/or selector=SEL (repeatable)")
	f.StringArrayVar(&ports, "port", nil, "destination port N, N/tcp or N/udp (repeatable; none = all traffic)")
	f.StringVar(&network, "network", "", "only traffic to this network's endpoints from its own (default: every network)")
	return cmd
}

func newApplyCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use: "apply -f FILE", Short: "Replace the whole policy with a YAML or JSON file (all or nothing)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := readFileOrStdin(cmd, file)
			if err != nil {
				return err
			}
			p, err := g.agent().ApplyPolicy(doc)
			return printPolicy(cmd, g, p, err)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "policy file (- for standard input)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func newExplainCmd(g *globals) *cobra.Command {
	var from, to, port string
	cmd := &cobra.Command{
		Use: "explain --from ENDPOINT --to ENDPOINT [--port 5432/tcp]", Short: "Say which rule decides and why", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := g.agent().ExplainPolicy(from, to, port)
			if err != nil {
				return err
			}
			return render(cmd.OutOrStdout(), g, e, func(w io.Writer) { fmt.Fprintf(w, "%s: %s\n", e.Verdict, e.Text) })
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source endpoint name")
	cmd.Flags().StringVar(&to, "to", "", "destination endpoint name")
	cmd.Flags().StringVar(&port, "port", "", "destination port N/tcp or N/udp (default: ICMP)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// printPolicy shows the policy after a change, numbered as `policy list` does.
func printPolicy(cmd *cobra.Command, g *globals, p api.Policy, err error) error {
	if err != nil {
		return err
	}
	if p.Rules == nil {
		p.Rules = []api.NetworkPolicyRule{}
	}
	st := api.PolicyState{DefaultAction: p.DefaultAction}
	for i, r := range p.Rules {
		st.Rules = append(st.Rules, api.PolicyRule{Index: i, Rule: r, Text: r.String()})
	}
	return render(cmd.OutOrStdout(), g, p, func(w io.Writer) { policyTable(w, st) })
}

func policyTable(w io.Writer, st api.PolicyState) {
	row(w, "#", "RULE", "DROPPED")
	for _, r := range st.Rules {
		row(w, r.Index, r.Text, r.Dropped)
	}
	row(w, "-", "default "+string(st.DefaultAction), st.DefaultDropped)
	if st.SyncError != "" {
		fmt.Fprintf(w, "NOT IN FORCE on this host: %s\n", st.SyncError)
	}
}
