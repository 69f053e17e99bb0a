package policy

// verdictRule is a verdict and the rule that gave it (-1: default).
type verdictRule struct {
	verdict Verdict
	rule    int
}

// portVerdict is the decision for one (proto, port).
type portVerdict struct {
	Port
	verdictRule
}

// pairDecision is what the policy does with traffic between two identities: ports
// claimed by port rules, in rule order, and the verdict for all other traffic.
type pairDecision struct {
	ports []portVerdict
	rest  verdictRule
}

// verdictFor is the decision's verdict for packets to p.
func (d pairDecision) verdictFor(p Port) Verdict {
	for _, pv := range d.ports {
		if pv.Port == p {
			return pv.verdict
		}
	}
	return d.rest.verdict
}

// firstDifference finds a packet the two decisions give different verdicts, if any:
// a listed port, or ICMP (no port rule matches it) when the rest differs.
func (d pairDecision) firstDifference(o pairDecision) (pkt Port, dv, ov Verdict, differ bool) {
	if d.rest.verdict != o.rest.verdict {
		return Port{Proto: ProtoICMP}, d.rest.verdict, o.rest.verdict, true
	}
	for _, ps := range [][]portVerdict{d.ports, o.ports} {
		for _, pv := range ps {
			if x, y := d.verdictFor(pv.Port), o.verdictFor(pv.Port); x != y {
				return pv.Port, x, y, true
			}
		}
	}
	return Port{}, 0, 0, false
}

// appendEntries emits the decision's entries for identities (src, dst): the
// any-traffic entry unless the default action decides it, and port entries whose verdict or
// deciding rule differs from it. Entries that only name another rule with the same verdict are
// kept so that the datapath's drop events name the rule that really decided.
func (d pairDecision) appendEntries(out []Entry, src, dst uint32, def Verdict) []Entry {
	if d.rest != (verdictRule{verdict: def, rule: -1}) {
		out = append(out, Entry{Src: src, Dst: dst, Verdict: d.rest.verdict, Rule: d.rest.rule})
	}
	for _, pv := range d.ports {
		if pv.verdictRule != d.rest {
			out = append(out, Entry{Src: src, Dst: dst, Proto: pv.Proto, Port: pv.Port.Port, Verdict: pv.verdict, Rule: pv.rule})
		}
	}
	return out
}
