package policy

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebpfnet/ebpfnet/api"
)

// parsedRule is a rule with its selectors and ports parsed, shared by the evaluator
// and the compiler so both read a rule the same way.
type parsedRule struct {
	Rule
	verdict  Verdict
	between  labels.Selector // set when Between is
	from, to labels.Selector // set when From/To are
	ports    []Port          // nil: all traffic
	broken   bool            // the rule is invalid: it never matches
}

// parseRule parses r's selectors and ports. A rule that [Policy.Validate] would reject
// is marked broken and never matches.
func parseRule(r Rule) parsedRule {
	pr := parsedRule{Rule: r, verdict: verdictOf(r.Action), broken: len(validateRule(0, r)) > 0}
	sel := func(s string) labels.Selector {
		x, err := parseSelector(s)
		if err != nil {
			pr.broken = true
			return labels.Nothing()
		}
		return x
	}
	if r.Between != nil {
		pr.between = sel(r.Between.Selector)
	}
	if r.From != nil {
		pr.from = sel(r.From.Selector)
	}
	if r.To != nil {
		pr.to = sel(r.To.Selector)
	}
	if len(r.Ports) > 0 {
		ps, err := api.ParsePolicyPorts(r.Ports)
		if err != nil {
			pr.broken = true
		}
		pr.ports = ps
	}
	return pr
}

// parseRules parses every rule of p.
func parseRules(p Policy) []parsedRule {
	out := make([]parsedRule, len(p.Rules))
	for i, r := range p.Rules {
		out[i] = parseRule(r)
	}
	return out
}
