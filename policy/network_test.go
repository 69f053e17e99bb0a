package policy

import (
	"strings"
	"testing"
)

// netEp is ep on network nw.
func netEp(name string, id uint32, nw, lbls string) Endpoint {
	e := ep(name, id, lbls)
	e.Network = nw
	return e
}

// TestCompileNetworkDefaults: a network with its own default action different from the
// cluster's gets an any-traffic entry (rule -1) for every pair decided on it that no rule
// decides; a network rule applies only to traffic to that network's endpoints; identities of
// one label set on two networks are two groups.
func TestCompileNetworkDefaults(t *testing.T) {
	eps := []Endpoint{
		netEp("f1", 300, "front", "app=web"), netEp("f2", 301, "front", "app=db"),
		netEp("b1", 400, "back", "app=web"), netEp("b2", 401, "back", "app=db"),
		netEp("d1", 500, "default", "app=web"),
		{Name: "remote-node", Identity: 6, Labels: map[string]string{"io.ebpfnet.reserved": "remote-node"}},
	}
	p := Policy{
		DefaultAction:   ActionAllow,
		NetworkDefaults: map[string]Action{"front": ActionDeny, "back": ActionAllow},
		Rules: []Rule{
			{Action: ActionAllow, From: &Selector{Selector: "app=web"}, To: &Selector{Selector: "app=db"}, Ports: []string{"5432"}, Network: "front"},
			{Action: ActionDeny, Between: &Between{Selector: "app"}, Ports: []string{"22"}, Network: "back"},
		},
	}
	mustValid(t, p)
	c := mustCompile(t, p, eps)
	if c.Default != VerdictAllow {
		t.Fatalf("default %s, want the cluster's allow", c.Default)
	}
	deny := func(s, d uint32) Entry { return Entry{Src: s, Dst: d, Verdict: VerdictDeny, Rule: -1} }
	wantEntries(t, c, []Entry{
		deny(6, 300), deny(6, 301),
		deny(300, 300), deny(300, 301), {Src: 300, Dst: 301, Proto: ProtoTCP, Port: 5432, Verdict: VerdictAllow, Rule: 0},
		deny(301, 300), deny(301, 301),
		deny(400, 300), deny(400, 301), // front's default (the destination's); front's rule is not for back's sources
		{Src: 400, Dst: 400, Proto: ProtoTCP, Port: 22, Verdict: VerdictDeny, Rule: 1},
		{Src: 400, Dst: 401, Proto: ProtoTCP, Port: 22, Verdict: VerdictDeny, Rule: 1},
		deny(401, 300), deny(401, 301),
		{Src: 401, Dst: 400, Proto: ProtoTCP, Port: 22, Verdict: VerdictDeny, Rule: 1},
		{Src: 401, Dst: 401, Proto: ProtoTCP, Port: 22, Verdict: VerdictDeny, Rule: 1},
		deny(500, 300), deny(500, 301),
	})
	// The map's lookup gives Decide's verdict and rule for every pair and packet.
	pkts := []Port{{Proto: ProtoTCP, Port: 5432}, {Proto: ProtoTCP, Port: 22}, {Proto: ProtoUDP, Port: 5432}, {Proto: ProtoICMP}}
	for _, s := range eps {
		for _, d := range eps {
			for _, pk := range pkts {
				wv, wr := Decide(p, s, d, pk.Proto, pk.Port)
				gv, gr := c.Lookup(s.Identity, d.Identity, pk.Proto, pk.Port)
				if wv != gv || wr != gr {
					t.Errorf("%s->%s %v: lookup %s rule %d, Decide %s rule %d", s.Name, d.Name, pk, gv, gr, wv, wr)
				}
			}
		}
	}

	// A cluster default of deny: front's deny needs no entries, back's allow does.
	p.DefaultAction = ActionDeny
	c = mustCompile(t, p, eps)
	for _, e := range c.Entries {
		if e.Dst == 300 || e.Dst == 301 {
			if e.Rule == -1 {
				t.Errorf("entry %+v: front's default equals the cluster's, needs no entry", e)
			}
		}
	}
	if v, r := c.Lookup(400, 401, ProtoICMP, 0); v != VerdictAllow || r != -1 {
		t.Errorf("back pair ICMP: %s rule %d, want back's default allow", v, r)
	}
	if v, r := c.Lookup(500, 500, ProtoICMP, 0); v != VerdictDeny || r != -1 {
		t.Errorf("default network pair: %s rule %d, want the cluster's deny", v, r)
	}
}

// TestCompileNetworkLinkedAndGroupBy: within linked and between.groupBy inside a network work
// as without networks, and a network-scoped within rule does not reach another network.
func TestCompileNetworkLinkedAndGroupBy(t *testing.T) {
	a := netEp("a", 10, "front", "env=x")
	a.Links = []string{"b"}
	b := netEp("b", 11, "front", "env=x")
	c := netEp("c", 12, "front", "env=y")
	o := netEp("o", 20, "back", "env=x")
	p := Policy{DefaultAction: ActionAllow, NetworkDefaults: map[string]Action{"front": ActionDeny, "back": ActionDeny}, Rules: []Rule{
		{Action: ActionAllow, Within: WithinLinked, Network: "front"},
		{Action: ActionAllow, Between: &Between{GroupBy: "env"}, Ports: []string{"80"}, Network: "front"},
	}}
	eps := []Endpoint{a, b, c, o}
	cmp := mustCompile(t, p, eps)
	for _, tc := range []struct {
		src, dst Endpoint
		pk       Port
		want     Verdict
	}{
		{a, b, Port{Proto: ProtoICMP}, VerdictAllow},          // linked
		{b, a, Port{Proto: ProtoICMP}, VerdictDeny},           // one-way
		{b, a, Port{Proto: ProtoTCP, Port: 80}, VerdictAllow}, // same env
		{a, c, Port{Proto: ProtoTCP, Port: 80}, VerdictDeny},  // other env
		{o, o, Port{Proto: ProtoTCP, Port: 80}, VerdictDeny},  // rules are front's; back denies
	} {
		if v, _ := cmp.Lookup(tc.src.Identity, tc.dst.Identity, tc.pk.Proto, tc.pk.Port); v != tc.want {
			t.Errorf("%s->%s %v: %s, want %s", tc.src.Name, tc.dst.Name, tc.pk, v, tc.want)
		}
		if v, _ := Decide(p, tc.src, tc.dst, tc.pk.Proto, tc.pk.Port); v != tc.want {
			t.Errorf("Decide %s->%s %v: %s, want %s", tc.src.Name, tc.dst.Name, tc.pk, v, tc.want)
		}
	}
}

// TestCompileNetworkIdentityConflict: one identity on two networks is refused.
func TestCompileNetworkIdentityConflict(t *testing.T) {
	_, err := Compile(Policy{}, []Endpoint{netEp("a", 10, "front", "app=x"), netEp("b", 10, "back", "app=x")})
	if got := errStrings(err); len(got) != 1 || got[0] != `endpoints[1].network: identity 10 is also endpoints[0] ("a"), on network "front"` {
		t.Errorf("got %q", got)
	}
}

func TestValidateNetworkDefaults(t *testing.T) {
	err := Policy{NetworkDefaults: map[string]Action{"front": "drop"}}.Validate()
	if got := errStrings(err); len(got) != 1 || got[0] != `networkDefaults.front: "drop" is not allow or deny` {
		t.Errorf("got %q", got)
	}
}

func TestExplainNetwork(t *testing.T) {
	p := Policy{NetworkDefaults: map[string]Action{"front": ActionDeny}, Rules: []Rule{{Action: ActionAllow, Within: WithinStack, Network: "back"}}}
	got := Explain(p, netEp("a", 1, "front", stackKey+"=s"), netEp("b", 2, "front", stackKey+"=s"), ProtoICMP, 0)
	want := `no rule matches, so network front's default action deny applies: rule 0 (allow within stack in network back): the rule is for network back, the traffic is from network "front" to network "front".`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseRuleNetwork(t *testing.T) {
	p, err := Parse([]byte("defaultPolicyAction: deny\npolicy:\n- {within: stack, action: allow, network: front}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules[0].Network != "front" || !strings.HasSuffix(p.Rules[0].String(), " in network front") {
		t.Errorf("rule %+v (%s)", p.Rules[0], p.Rules[0])
	}
}
