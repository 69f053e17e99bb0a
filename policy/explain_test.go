package policy

import "testing"

func TestExplain(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{
		{Action: ActionAllow, Within: WithinStack},
		{Action: ActionAllow, Within: WithinLinked},
		fromTo(ActionDeny, "app=web", "app=db", "5432/tcp"),
		{Action: ActionAllow, Between: &Between{GroupBy: "tier"}},
		{Action: ActionAllow, Between: &Between{Selector: "app", GroupBy: "zone"}},
	}}
	web := ep("web1", 1, "app=web,tier=x", "cache1")
	db := ep("db1", 2, "app=db,tier=x")
	cache := ep("cache1", 3, "app=cache,"+stackKey+"=s")
	other := ep("z", 4, stackKey+"=b")
	cases := []struct {
		name     string
		p        Policy
		src, dst Endpoint
		proto    uint8
		port     uint16
		want     string
	}{
		{"port rule decides", p, web, db, ProtoTCP, 5432,
			`rule 2 (deny from app=web to app=db ports 5432/tcp) matches: source labels app=web,tier=x match "app=web", destination labels app=db,tier=x match "app=db", port 5432/tcp is listed; verdict deny. ` +
				`Earlier rules do not match: rule 0 (allow within stack): neither source nor destination has label io.rancher.stack.name; rule 1 (allow within linked): source "web1" does not link to destination "db1".`},
		{"groupBy decides", p, web, db, ProtoTCP, 80,
			`rule 3 (allow between all groupBy tier) matches: source and destination share tier=x, the rule covers all protocols and ports; verdict allow. ` +
				`Earlier rules do not match: rule 0 (allow within stack): neither source nor destination has label io.rancher.stack.name; rule 1 (allow within linked): source "web1" does not link to destination "db1"; rule 2 (deny from app=web to app=db ports 5432/tcp): port 80/tcp is not listed.`},
		{"linked decides", p, web, cache, ProtoICMP, 0,
			`rule 1 (allow within linked) matches: source "web1" links to destination "cache1", the rule covers all protocols and ports; verdict allow. ` +
				`Earlier rules do not match: rule 0 (allow within stack): source has no label io.rancher.stack.name.`},
		{"default", p, cache, other, ProtoICMP, 0,
			`no rule matches, so the default action deny applies: ` +
				`rule 0 (allow within stack): source io.rancher.stack.name=s differs from destination io.rancher.stack.name=b; ` +
				`rule 1 (allow within linked): source "cache1" does not link to destination "z"; ` +
				`rule 2 (deny from app=web to app=db ports 5432/tcp): source labels app=cache,io.rancher.stack.name=s do not match "app=web", destination labels io.rancher.stack.name=b do not match "app=db", icmp has no ports and the rule lists ports; ` +
				`rule 3 (allow between all groupBy tier): neither source nor destination has label tier; ` +
				`rule 4 (allow between app groupBy zone): destination labels io.rancher.stack.name=b do not match "app", neither source nor destination has label zone.`},
		{"no rules", Policy{}, web, db, ProtoTCP, 1,
			`the policy has no rules, so the default action allow applies.`},
		{"invalid rule", Policy{Rules: []Rule{{Action: "permit", Within: WithinStack}}}, web, db, ProtoTCP, 1,
			`no rule matches, so the default action allow applies: rule 0 (permit within stack): invalid, never matches (rules[0].action: "permit" is not allow or deny).`},
		{"empty labels", Policy{Rules: []Rule{fromTo(ActionDeny, "app", "app")}}, ep("e", 9, ""), db, ProtoTCP, 1,
			`no rule matches, so the default action allow applies: rule 0 (deny from app to app): source labels {} do not match "app".`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Explain(c.p, c.src, c.dst, c.proto, c.port); got != c.want {
				t.Errorf("\n got  %s\n want %s", got, c.want)
			}
		})
	}
}

// Explain names the rule Decide picks, for every packet of a small grid.
func TestExplainAgreesWithDecide(t *testing.T) {
	p, err := Parse(readTestdata(t, "rancher.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eps := []Endpoint{
		ep("w", 1, stackKey+"=s,app=web", "d"), ep("d", 2, stackKey+"=s,app=db"),
		ep("n", 3, "app=dns"), ep("u", 4, "untrusted,env=prod,tier=t"),
	}
	for _, s := range eps {
		for _, d := range eps {
			for _, pp := range []Port{{Proto: ProtoTCP, Port: 5432}, {Proto: ProtoUDP, Port: 53}, {Proto: ProtoTCP, Port: 53}, {Proto: ProtoICMP, Port: 0}} {
				v, r := Decide(p, s, d, pp.Proto, pp.Port)
				got := Explain(p, s, d, pp.Proto, pp.Port)
				var prefix string
				if r < 0 {
					prefix = "no rule matches, so the default action " + v.String()
				} else {
					prefix = "rule " + itoa(r) + " (" + p.Rules[r].String() + ") matches: "
				}
				if len(got) < len(prefix) || got[:len(prefix)] != prefix {
					t.Errorf("%s->%s %v: Explain %q does not start with %q", s.Name, d.Name, pp, got, prefix)
				}
			}
		}
	}
}
