package policy

import (
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// Compile turns p and the cluster's endpoints into the datapath's policy entries:
// for every ordered pair of identities it emits the fewest entries whose lookup
// ([Compiled.Lookup]) gives [Decide]'s verdict for every packet between endpoints of
// those identities. Per pair, the first rule without ports that matches decides all
// other traffic; earlier matching rules with ports decide their ports. The pair's
// any-traffic entry (proto 0, port 0) is emitted only when its verdict differs from
// the default, and a port entry only when its verdict differs from the pair's
// any-traffic verdict; pairs the policy leaves to the default get no entry at all.
//
// Identities stand for label sets, but `within: linked` depends on links, which are
// not labels: two endpoints of one identity may link to different endpoints. Compile
// evaluates each identity pair once for the endpoint pairs whose source links to the
// destination and once for those that do not, whichever exist. When both exist and
// the verdicts differ for some packet, one map key cannot hold both and Compile
// returns an *AmbiguityError: the agent must give endpoints with different links
// different identities (in Rancher, links belong to services and every container of a
// service carries the same io.rancher.stack_service.name label, so this does not
// arise). When the verdicts agree, the unlinked pairs' entries are used, since their
// rules match the linked pairs as well.
//
// Networks ([Endpoint.Network], [Rule].Network, p.NetworkDefaults) are decided as [Decide]
// says. The datapath's fallback is the one Default (the cluster's), so a pair whose
// destination is on a network with its own default action different from it gets an any-traffic entry even when
// no rule matches (Rule -1): per-network defaults are per-pair entries and the map's key
// stays (src identity, dst identity, proto, port).
//
// Errors: p's validation errors ([Policy.Validate]); endpoints sharing a name or
// sharing an identity with different labels or networks (*FieldError with path
// endpoints[i]); *AmbiguityError.
func Compile(p Policy, eps []Endpoint) (Compiled, error) {
	if err := p.Validate(); err != nil {
		return Compiled{}, err
	}
	ix, err := indexEndpoints(eps)
	if err != nil {
		return Compiled{}, err
	}
	c := &compiler{
		ix:      ix,
		rules:   parseRules(p),
		stack:   p.stackLabel(),
		service: p.serviceLabel(),
		def:     verdictOf(p.defaultAction()),
		p:       p,
	}
	c.matchSelectors()
	out := Compiled{Default: c.def}
	for a := range ix.groups {
		for b := range ix.groups {
			d, err := c.decidePair(a, b)
			if err != nil {
				return Compiled{}, err
			}
			out.Entries = d.appendEntries(out.Entries, ix.groups[a].id, ix.groups[b].id, c.def)
		}
	}
	slices.SortFunc(out.Entries, compareKeys)
	return out, nil
}

// compiler holds a validated policy and the endpoint index while compiling.
type compiler struct {
	ix             *endpointIndex
	rules          []parsedRule
	stack, service string
	def            Verdict // the map's fallback, the cluster default
	p              Policy
	// Per rule, per identity group: does the group's label set match the rule's
	// between, from and to selectors (nil where the rule has none).
	between, from, to [][]bool
}

// matchSelectors evaluates every selector once per identity group.
func (c *compiler) matchSelectors() {
	n := len(c.rules)
	c.between, c.from, c.to = make([][]bool, n), make([][]bool, n), make([][]bool, n)
	per := func(sel labels.Selector) []bool {
		if sel == nil {
			return nil
		}
		m := make([]bool, len(c.ix.groups))
		for g, grp := range c.ix.groups {
			m[g] = sel.Matches(labels.Set(grp.labels))
		}
		return m
	}
	for k := range c.rules {
		c.between[k] = per(c.rules[k].between)
		c.from[k] = per(c.rules[k].from)
		c.to[k] = per(c.rules[k].to)
	}
}

// cond reports whether rule k's endpoint condition holds from group a to group b,
// for endpoint pairs whose source links to the destination (linked) or not.
func (c *compiler) cond(k, a, b int, linked bool) bool {
	r := &c.rules[k]
	if !inNetwork(&r.Rule, c.ix.groups[a].network, c.ix.groups[b].network) {
		return false
	}
	la, lb := c.ix.groups[a].labels, c.ix.groups[b].labels
	switch {
	case r.Within == WithinStack:
		return equalLabel(la, lb, c.stack)
	case r.Within == WithinService:
		return equalLabel(la, lb, c.service)
	case r.Within == WithinLinked:
		return linked
	case r.Between != nil:
		return c.between[k][a] && c.between[k][b] && (r.Between.GroupBy == "" || equalLabel(la, lb, r.Between.GroupBy))
	default: // from and to, guaranteed by validation
		return c.from[k][a] && c.to[k][b]
	}
}

// equalLabel: both label sets carry key, with one value.
func equalLabel(a, b map[string]string, key string) bool {
	va, oka := a[key]
	vb, okb := b[key]
	return oka && okb && va == vb
}

// decidePair computes group pair (a, b)'s decision, checking that linked and unlinked
// endpoint pairs, where both exist, get the same verdicts.
func (c *compiler) decidePair(a, b int) (pairDecision, error) {
	hasLinked, hasUnlinked := c.ix.linkClasses(a, b)
	if !hasLinked {
		return c.evalPair(a, b, false), nil
	}
	dl := c.evalPair(a, b, true)
	if !hasUnlinked {
		return dl, nil
	}
	du := c.evalPair(a, b, false)
	if pkt, vl, vu, differ := dl.firstDifference(du); differ {
		l, u := c.ix.examplePairs(a, b)
		return pairDecision{}, &AmbiguityError{
			Src: c.ix.groups[a].id, Dst: c.ix.groups[b].id,
			Linked: l, Unlinked: u,
			Proto: pkt.Proto, Port: pkt.Port,
			LinkedVerdict: vl, UnlinkedVerdict: vu,
		}
	}
	return du, nil
}

// evalPair walks the rules in order for group pair (a, b): port rules claim their
// not yet claimed ports, and the first matching rule without ports decides the rest.
func (c *compiler) evalPair(a, b int, linked bool) pairDecision {
	var d pairDecision
	var claimed map[Port]bool
	for k := range c.rules {
		if !c.cond(k, a, b, linked) {
			continue
		}
		r := &c.rules[k]
		if len(r.ports) == 0 {
			d.rest = verdictRule{r.verdict, k}
			return d
		}
		for _, p := range r.ports {
			if claimed == nil {
				claimed = make(map[Port]bool)
			}
			if !claimed[p] {
				claimed[p] = true
				d.ports = append(d.ports, portVerdict{p, verdictRule{r.verdict, k}})
			}
		}
	}
	def, _ := c.p.networkDefault(c.ix.groups[b].network)
	d.rest = verdictRule{verdictOf(def), -1}
	return d
}
