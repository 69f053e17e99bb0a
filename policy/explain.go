package policy

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Explain says in words what [Decide] decides for a packet from src to dst with IP
// protocol proto and destination port port, and why: which rule decides and how it
// matches, and why each rule before it does not. Examples:
//
//	rule 2 (deny from app=web to app=db ports 5432/tcp) matches: source labels app=web match "app=web", destination labels app=db match "app=db", port 5432/tcp is listed; verdict deny. Earlier rules do not match: rule 0 (allow within stack): source has no label io.rancher.stack.name; rule 1 (allow within linked): source "web1" does not link to destination "db1".
//	no rule matches, so the default action deny applies: rule 0 (allow within stack): source io.rancher.stack.name=a differs from destination io.rancher.stack.name=b.
//	no rule matches, so network front's default action deny applies: rule 0 (allow within stack in network back): the rule is for network back, the traffic is from network "front" to network "front".
//
// Invalid rules are named as never matching, with [Policy.Validate]'s reason.
func Explain(p Policy, src, dst Endpoint, proto uint8, port uint16) string {
	e := newEvaluator(p)
	verdict, decider := e.decide(src, dst, proto, port)

	var misses []string
	for i := range e.rules {
		r := &e.rules[i]
		if i == decider {
			break
		}
		misses = append(misses, fmt.Sprintf("rule %d (%s): %s", i, r.Rule, e.whyNot(i, src, dst, proto, port)))
	}

	var b strings.Builder
	if decider >= 0 {
		r := &e.rules[decider]
		_, whyE := e.endpointCond(r, src, dst, true)
		_, whyP := portCond(r, proto, port, true)
		fmt.Fprintf(&b, "rule %d (%s) matches: %s, %s; verdict %s.", decider, r.Rule, whyE, whyP, verdict)
		if len(misses) > 0 {
			fmt.Fprintf(&b, " Earlier rules do not match: %s.", strings.Join(misses, "; "))
		}
		return b.String()
	}
	whose := "the default action"
	if _, own := e.p.networkDefault(dst.Network); own {
		whose = fmt.Sprintf("network %s's default action", dst.Network)
	}
	if len(e.rules) == 0 {
		return fmt.Sprintf("the policy has no rules, so %s %s applies.", whose, verdict)
	}
	return fmt.Sprintf("no rule matches, so %s %s applies: %s.", whose, verdict, strings.Join(misses, "; "))
}

// whyNot says why rule i does not match the packet.
func (e *evaluator) whyNot(i int, src, dst Endpoint, proto uint8, port uint16) string {
	r := &e.rules[i]
	if r.broken {
		var msgs []string
		for _, err := range validateRule(i, r.Rule) {
			msgs = append(msgs, err.Error())
		}
		return "invalid, never matches (" + strings.Join(msgs, "; ") + ")"
	}
	if !inNetwork(&r.Rule, src.Network, dst.Network) {
		return fmt.Sprintf("the rule is for network %s, the traffic is from network %q to network %q", r.Network, src.Network, dst.Network)
	}
	okE, whyE := e.endpointCond(r, src, dst, true)
	okP, whyP := portCond(r, proto, port, true)
	return joinWhy(true, okE && okP, [2]bool{okE, okP}, whyE, whyP)
}

// selects reports whether sel (written as text) selects the endpoint; the clause
// reads `source labels app=web match "app=web"`.
func selects(sel labels.Selector, text, who string, ep Endpoint, explain bool) (bool, string) {
	ok := sel.Matches(labels.Set(ep.Labels))
	if !explain {
		return ok, ""
	}
	verb := "match"
	if !ok {
		verb = "do not match"
	}
	return ok, fmt.Sprintf("%s labels %s %s %q", who, labelsString(ep.Labels), verb, text)
}
