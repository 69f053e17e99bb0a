package policy

import (
	"fmt"
	"slices"
)

// Decide is the reference evaluator: it walks p's rules in order and returns the
// verdict of the first rule that matches a packet from src to dst with IP protocol
// proto and destination port port, and that rule's index; when no rule matches it
// returns p's default action and -1. Matching is spelled out on [Rule]: the rule's
// endpoint condition (within, between, or from/to) must hold for (src, dst), and its
// ports, if any, must list (proto, port). proto is the IP protocol number (6 tcp,
// 17 udp, 1 icmp); port is ignored for protocols other than TCP and UDP.
//
// Networks ([Endpoint.Network]): a rule naming a network ([Rule].Network) matches only
// traffic to that network's endpoints from endpoints on it or on none (reserved identities);
// when no rule matches, the destination's network's own default action (p.NetworkDefaults)
// applies if it has one, else p's (Rancher's defaultPolicyAction of the network).
//
// Decide does not validate p: a rule that [Policy.Validate] rejects never matches, and
// an invalid default action denies. [Compile] produces entries whose
// lookup agrees with Decide for every endpoint pair and packet; `ebpfnet policy
// explain` shows the same decision in words through [Explain].
func Decide(p Policy, src, dst Endpoint, proto uint8, port uint16) (Verdict, int) {
	return newEvaluator(p).decide(src, dst, proto, port)
}

// evaluator is a policy with its rules parsed, evaluated rule by rule.
type evaluator struct {
	p            Policy
	rules        []parsedRule
	stackLabel   string
	serviceLabel string
}

// newEvaluator parses p once for many decisions.
func newEvaluator(p Policy) *evaluator {
	return &evaluator{
		p:            p,
		rules:        parseRules(p),
		stackLabel:   p.stackLabel(),
		serviceLabel: p.serviceLabel(),
	}
}

// decide is Decide on a parsed policy.
func (e *evaluator) decide(src, dst Endpoint, proto uint8, port uint16) (Verdict, int) {
	for i := range e.rules {
		r := &e.rules[i]
		if r.broken || !inNetwork(&r.Rule, src.Network, dst.Network) {
			continue
		}
		if ok, _ := e.endpointCond(r, src, dst, false); !ok {
			continue
		}
		if ok, _ := portCond(r, proto, port, false); !ok {
			continue
		}
		return r.verdict, i
	}
	a, _ := e.p.networkDefault(dst.Network)
	return verdictOf(a), -1
}

// endpointCond reports whether r's endpoint condition (within, between or from/to)
// holds for traffic from src to dst; with explain it also says why, as comma-separated
// clauses ("source labels app=web match \"app=web\", ...").
func (e *evaluator) endpointCond(r *parsedRule, src, dst Endpoint, explain bool) (bool, string) {
	switch {
	case r.Within == WithinStack:
		return sameLabel(e.stackLabel, src, dst, explain)
	case r.Within == WithinService:
		return sameLabel(e.serviceLabel, src, dst, explain)
	case r.Within == WithinLinked:
		ok := linksTo(src, dst)
		if !explain {
			return ok, ""
		}
		if ok {
			return true, fmt.Sprintf("source %q links to destination %q", src.Name, dst.Name)
		}
		return false, fmt.Sprintf("source %q does not link to destination %q", src.Name, dst.Name)
	case r.Between != nil:
		if r.Between.Selector == "" { // groupBy alone
			return sameLabel(r.Between.GroupBy, src, dst, explain)
		}
		okS, whyS := selects(r.between, r.Between.Selector, "source", src, explain)
		okD, whyD := selects(r.between, r.Between.Selector, "destination", dst, explain)
		ok, why := okS && okD, joinWhy(explain, okS && okD, [2]bool{okS, okD}, whyS, whyD)
		if r.Between.GroupBy != "" {
			okG, whyG := sameLabel(r.Between.GroupBy, src, dst, explain)
			why = joinWhy(explain, ok && okG, [2]bool{ok, okG}, why, whyG)
			ok = ok && okG
		}
		return ok, why
	case r.From != nil && r.To != nil:
		okS, whyS := selects(r.from, r.From.Selector, "source", src, explain)
		okD, whyD := selects(r.to, r.To.Selector, "destination", dst, explain)
		return okS && okD, joinWhy(explain, okS && okD, [2]bool{okS, okD}, whyS, whyD)
	}
	return false, "the rule has no endpoint condition"
}

// portCond reports whether r's ports admit the packet: always when r has no ports,
// else only TCP/UDP packets whose (proto, port) is listed.
func portCond(r *parsedRule, proto uint8, port uint16, explain bool) (bool, string) {
	if len(r.Ports) == 0 {
		if explain {
			return true, "the rule covers all protocols and ports"
		}
		return true, ""
	}
	ok := (proto == ProtoTCP || proto == ProtoUDP) && slices.Contains(r.ports, Port{Proto: proto, Port: port})
	if !explain {
		return ok, ""
	}
	t := trafficString(proto, port)
	switch {
	case ok:
		return true, fmt.Sprintf("port %s is listed", t)
	case proto != ProtoTCP && proto != ProtoUDP:
		return false, fmt.Sprintf("%s has no ports and the rule lists ports", t)
	}
	return false, fmt.Sprintf("port %s is not listed", t)
}

// sameLabel: both endpoints carry label key with equal values.
func sameLabel(key string, src, dst Endpoint, explain bool) (bool, string) {
	sv, sok := src.Labels[key]
	dv, dok := dst.Labels[key]
	ok := sok && dok && sv == dv
	if !explain {
		return ok, ""
	}
	switch {
	case ok:
		return true, fmt.Sprintf("source and destination share %s=%s", key, sv)
	case !sok && !dok:
		return false, fmt.Sprintf("neither source nor destination has label %s", key)
	case !sok:
		return false, fmt.Sprintf("source has no label %s", key)
	case !dok:
		return false, fmt.Sprintf("destination has no label %s", key)
	}
	return false, fmt.Sprintf("source %s=%s differs from destination %s=%s", key, sv, key, dv)
}

// joinWhy combines the clauses of two sub-conditions: when the whole matched, both
// clauses; otherwise only the clauses of the parts that failed.
func joinWhy(explain, ok bool, partOK [2]bool, a, b string) string {
	if !explain {
		return ""
	}
	if ok {
		return a + ", " + b
	}
	switch {
	case !partOK[0] && !partOK[1]:
		return a + ", " + b
	case !partOK[0]:
		return a
	}
	return b
}

// linksTo reports whether src links to dst: dst has a name and src.Links lists it.
func linksTo(src, dst Endpoint) bool {
	return dst.Name != "" && slices.Contains(src.Links, dst.Name)
}
