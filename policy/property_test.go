package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The compiled lookup gives Decide's verdict for random policies and endpoints.
func TestCompiledLookupMatchesDecide(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 42))
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	var compiled, ambiguous, entries, pairs int
	for it := range iterations {
		p := randomPolicy(rng)
		if err := p.Validate(); err != nil {
			t.Fatalf("iteration %d: generator made an invalid policy: %v\n%+v", it, err, p)
		}
		mode := it % 3
		eps := randomEndpoints(rng, mode)
		c, err := Compile(p, eps)
		var amb *AmbiguityError
		switch {
		case errors.As(err, &amb):
			if mode == 2 {
				t.Fatalf("iteration %d: unique identities cannot be ambiguous: %v", it, err)
			}
			checkAmbiguityIsReal(t, p, eps, amb)
			ambiguous++
			continue
		case err != nil:
			t.Fatalf("iteration %d: Compile: %v", it, err)
		}
		compiled++
		entries += len(c.Entries)
		pairs += len(eps) * len(eps)
		if !checkAgainstDecide(t, p, eps, c, packetPool) {
			t.Fatalf("iteration %d failed; policy:\n%s\nendpoints: %+v\nentries: %+v", it, describe(p), eps, c.Entries)
		}
	}
	t.Logf("%d policies compiled (%d entries for %d endpoint pairs), %d refused as ambiguous", compiled, entries, pairs, ambiguous)
	if compiled < iterations/2 {
		t.Errorf("too few policies compiled: %d of %d", compiled, iterations)
	}
}

// packetPool is the packets tried: every port the generator uses, unlisted ports,
// ICMP, another protocol and TCP port 0.
var packetPool = []Port{
	{Proto: ProtoTCP, Port: 80}, {Proto: ProtoUDP, Port: 80}, {Proto: ProtoUDP, Port: 53}, {Proto: ProtoTCP, Port: 53}, {Proto: ProtoTCP, Port: 443},
	{Proto: ProtoTCP, Port: 5432}, {Proto: ProtoTCP, Port: 8080}, {Proto: ProtoUDP, Port: 9999}, {Proto: ProtoICMP, Port: 0}, {Proto: 47, Port: 0}, {Proto: ProtoTCP, Port: 0},
}

// checkAgainstDecide compares c's lookup with the reference evaluator for every
// ordered endpoint pair and packet, and checks the entries' own invariants.
func checkAgainstDecide(t *testing.T, p Policy, eps []Endpoint, c Compiled, packets []Port) bool {
	t.Helper()
	ok := checkEntryInvariants(t, p, c)
	e := newEvaluator(p)
	mixed := mixedLinkPairs(eps)
	for _, s := range eps {
		for _, d := range eps {
			for _, pkt := range packets {
				want, wantRule := e.decide(s, d, pkt.Proto, pkt.Port)
				got, gotRule := c.Lookup(s.Identity, d.Identity, pkt.Proto, pkt.Port)
				where := fmt.Sprintf("%s(%d) -> %s(%d) %s", s.Name, s.Identity, d.Name, d.Identity, trafficString(pkt.Proto, pkt.Port))
				if got != want {
					t.Errorf("%s: lookup %s by rule %d, Decide %s by rule %d", where, got, gotRule, want, wantRule)
					ok = false
					continue
				}
				if gotRule >= 0 && !ruleMatches(e, gotRule, s, d, pkt, got) {
					t.Errorf("%s: lookup names rule %d, which does not match with verdict %s", where, gotRule, got)
					ok = false
				}
				if mixed[[2]uint32{s.Identity, d.Identity}] {
					continue // attribution may name the unlinked pairs' rule
				}
				if gotRule != wantRule {
					t.Errorf("%s: lookup names rule %d, Decide rule %d", where, gotRule, wantRule)
					ok = false
				}
			}
		}
	}
	// The exported Decide is the evaluator.
	if len(eps) > 0 {
		s, d, pkt := eps[0], eps[len(eps)-1], packets[0]
		v1, r1 := Decide(p, s, d, pkt.Proto, pkt.Port)
		v2, r2 := e.decide(s, d, pkt.Proto, pkt.Port)
		if v1 != v2 || r1 != r2 {
			t.Errorf("Decide and evaluator differ")
			ok = false
		}
	}
	return ok
}

// checkEntryInvariants: sorted unique keys, well-formed keys, valid rule indices and
// no entry that repeats what the lookup would give without it.
func checkEntryInvariants(t *testing.T, p Policy, c Compiled) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		ok = false
	}
	rest := make(map[[2]uint32]verdictRule) // pair → any-traffic decision
	for i, en := range c.Entries {
		if i > 0 && compareKeys(c.Entries[i-1], en) >= 0 {
			fail("entries not strictly sorted at %d: %+v, %+v", i, c.Entries[i-1], en)
		}
		if (en.Proto == 0) != (en.Port == 0) || (en.Proto != 0 && en.Proto != ProtoTCP && en.Proto != ProtoUDP) {
			fail("malformed key %+v", en)
		}
		if en.Rule < -1 || en.Rule >= len(p.Rules) {
			fail("rule index out of range: %+v", en)
		}
		if en.Proto == 0 {
			if en.Verdict == c.Default && en.Rule == -1 {
				fail("any-traffic entry repeats the default: %+v", en)
			}
			rest[[2]uint32{en.Src, en.Dst}] = verdictRule{en.Verdict, en.Rule}
		}
	}
	for _, en := range c.Entries {
		if en.Proto == 0 {
			continue
		}
		fallback, has := rest[[2]uint32{en.Src, en.Dst}]
		if !has {
			fallback = verdictRule{c.Default, -1}
		}
		if (verdictRule{en.Verdict, en.Rule}) == fallback {
			fail("port entry repeats its fallback: %+v", en)
		}
	}
	return ok
}

// ruleMatches reports whether rule k matches the packet from s to d with verdict v.
func ruleMatches(e *evaluator, k int, s, d Endpoint, pkt Port, v Verdict) bool {
	r := &e.rules[k]
	okE, _ := e.endpointCond(r, s, d, false)
	okP, _ := portCond(r, pkt.Proto, pkt.Port, false)
	return okE && okP && r.verdict == v
}

// mixedLinkPairs finds identity pairs holding both linked and unlinked endpoint pairs.
func mixedLinkPairs(eps []Endpoint) map[[2]uint32]bool {
	seen := map[[2]uint32][2]bool{}
	for _, s := range eps {
		for _, d := range eps {
			k := [2]uint32{s.Identity, d.Identity}
			x := seen[k]
			if linksTo(s, d) {
				x[0] = true
			} else {
				x[1] = true
			}
			seen[k] = x
		}
	}
	out := map[[2]uint32]bool{}
	for k, x := range seen {
		out[k] = x[0] && x[1]
	}
	return out
}

// checkAmbiguityIsReal verifies an AmbiguityError against Decide: the two named
// endpoint pairs share the identities, differ in links and get the stated verdicts.
func checkAmbiguityIsReal(t *testing.T, p Policy, eps []Endpoint, a *AmbiguityError) {
	t.Helper()
	byName := map[string]Endpoint{}
	for _, e := range eps {
		byName[e.Name] = e
	}
	ls, ld := byName[a.Linked[0]], byName[a.Linked[1]]
	us, ud := byName[a.Unlinked[0]], byName[a.Unlinked[1]]
	if ls.Identity != a.Src || us.Identity != a.Src || ld.Identity != a.Dst || ud.Identity != a.Dst {
		t.Fatalf("%v: named endpoints have other identities", a)
	}
	if !linksTo(ls, ld) || linksTo(us, ud) {
		t.Fatalf("%v: link status wrong", a)
	}
	vl, _ := Decide(p, ls, ld, a.Proto, a.Port)
	vu, _ := Decide(p, us, ud, a.Proto, a.Port)
	if vl != a.LinkedVerdict || vu != a.UnlinkedVerdict || vl == vu {
		t.Fatalf("%v: Decide gives %s and %s", a, vl, vu)
	}
}

// Generators.

var (
	genKeys   = []string{"app", "tier", "env", stackKey, serviceKey}
	genValues = []string{"a", "b", "c"}
	genPorts  = []string{"80", "80/udp", "53/udp", "53", "443/tcp", "5432"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// randomSelector makes one to three requirements in every selector form.
func randomSelector(rng *rand.Rand) string {
	n := 1 + rng.IntN(3)
	reqs := make([]string, n)
	for i := range reqs {
		k, v, w := pick(rng, genKeys), pick(rng, genValues), pick(rng, genValues)
		switch rng.IntN(7) {
		case 0:
			reqs[i] = k + "=" + v
		case 1:
			reqs[i] = k + "==" + v
		case 2:
			reqs[i] = k + "!=" + v
		case 3:
			reqs[i] = k + " in (" + v + ", " + w + ")"
		case 4:
			reqs[i] = k + " notin (" + v + ")"
		case 5:
			reqs[i] = k
		case 6:
			reqs[i] = "!" + k
		}
	}
	return strings.Join(reqs, ",")
}

// randomPolicy makes a valid policy of up to six rules of every form.
func randomPolicy(rng *rand.Rand) Policy {
	p := Policy{DefaultAction: pick(rng, []Action{"", ActionAllow, ActionDeny})}
	for range rng.IntN(7) {
		r := Rule{Action: pick(rng, []Action{ActionAllow, ActionDeny})}
		switch rng.IntN(6) {
		case 0:
			r.Within = WithinStack
		case 1:
			r.Within = WithinService
		case 2:
			r.Within = WithinLinked
		case 3, 4:
			b := &Between{}
			switch rng.IntN(3) {
			case 0:
				b.Selector = randomSelector(rng)
			case 1:
				b.GroupBy = pick(rng, genKeys)
			case 2:
				b.Selector, b.GroupBy = randomSelector(rng), pick(rng, genKeys)
			}
			r.Between = b
		case 5:
			r.From, r.To = &Selector{Selector: randomSelector(rng)}, &Selector{Selector: randomSelector(rng)}
		}
		if rng.IntN(2) == 0 {
			for range 1 + rng.IntN(3) {
				r.Ports = append(r.Ports, pick(rng, genPorts))
			}
		}
		r.Network = pick(rng, genRuleNetworks)
		p.Rules = append(p.Rules, r)
	}
	for _, nw := range genNetworks[1:] {
		if a := pick(rng, []Action{"", ActionAllow, ActionDeny}); a != "" {
			if p.NetworkDefaults == nil {
				p.NetworkDefaults = map[string]Action{}
			}
			p.NetworkDefaults[nw] = a
		}
	}
	return p
}

// genNetworks are the networks endpoints are on ("": a reserved identity, on none);
// genRuleNetworks what rules name, mostly none.
var (
	genNetworks     = []string{"", "n1", "n2"}
	genRuleNetworks = []string{"", "", "", "n1", "n2"}
)

// randomEndpoints makes up to ten endpoints with random labels and links. Mode 0
// derives identities from labels (links may make them ambiguous), mode 1 from labels
// and links, mode 2 gives each endpoint its own; identities are scattered uint32s, per
// network (as the agent allocates them).
func randomEndpoints(rng *rand.Rand, mode int) []Endpoint {
	n := 1 + rng.IntN(10)
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i].Name = fmt.Sprintf("e%d", i)
		eps[i].Labels = map[string]string{}
		eps[i].Network = pick(rng, genNetworks)
		for _, k := range genKeys {
			if rng.IntN(5) < 3 {
				eps[i].Labels[k] = pick(rng, genValues[:2])
			}
		}
	}
	for i := range eps {
		for j := range eps {
			if rng.IntN(4) == 0 {
				eps[i].Links = append(eps[i].Links, eps[j].Name)
			}
		}
		if rng.IntN(8) == 0 {
			eps[i].Links = append(eps[i].Links, "ghost")
		}
		if len(eps[i].Links) > 0 && rng.IntN(8) == 0 {
			eps[i].Links = append(eps[i].Links, eps[i].Links[0])
		}
	}
	ids := map[string]uint32{}
	for i := range eps {
		key := eps[i].Network + "/"
		switch mode {
		case 0:
			key += labelsString(eps[i].Labels)
		case 1:
			links := slices.Clone(eps[i].Links)
			sort.Strings(links)
			key += labelsString(eps[i].Labels) + "|" + strings.Join(slices.Compact(links), ",")
		default:
			key += eps[i].Name
		}
		id, ok := ids[key]
		if !ok {
			id = rng.Uint32()
			ids[key] = id
		}
		eps[i].Identity = id
	}
	return eps
}

// describe prints a policy one rule a line.
func describe(p Policy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "default %q, networks' %v\n", p.DefaultAction, p.NetworkDefaults)
	for i, r := range p.Rules {
		fmt.Fprintf(&b, "%d: %s\n", i, r)
	}
	return b.String()
}
