package policy

import "testing"

// decideCase is one packet and the verdict and deciding rule expected for it.
type decideCase struct {
	name     string
	src, dst Endpoint
	proto    uint8
	port     uint16
	want     Verdict
	rule     int
}

func runDecide(t *testing.T, p Policy, cases []decideCase) {
	t.Helper()
	mustValid(t, p)
	for _, c := range cases {
		v, r := Decide(p, c.src, c.dst, c.proto, c.port)
		if v != c.want || r != c.rule {
			t.Errorf("%s: got %s by rule %d, want %s by rule %d", c.name, v, r, c.want, c.rule)
		}
	}
}

const stackKey, serviceKey = "io.rancher.stack.name", "io.rancher.stack_service.name"

func TestWithinStack(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Within: WithinStack}}}
	a1 := ep("a1", 1, stackKey+"=a")
	a2 := ep("a2", 2, stackKey+"=a,app=x")
	b := ep("b", 3, stackKey+"=b")
	none := ep("n", 4, "app=x")
	runDecide(t, p, []decideCase{
		{"same stack", a1, a2, ProtoTCP, 80, VerdictAllow, 0},
		{"same stack icmp", a2, a1, ProtoICMP, 0, VerdictAllow, 0},
		{"other stack", a1, b, ProtoTCP, 80, VerdictDeny, -1},
		{"no stack label", none, none, ProtoTCP, 80, VerdictDeny, -1},
		{"one side unlabelled", a1, none, ProtoTCP, 80, VerdictDeny, -1},
	})
	// A configured key replaces Rancher's.
	p.StackLabel = "team"
	runDecide(t, p, []decideCase{
		{"default key ignored", a1, a2, ProtoTCP, 80, VerdictDeny, -1},
		{"custom key", ep("x", 1, "team=t"), ep("y", 2, "team=t"), ProtoTCP, 80, VerdictAllow, 0},
	})
}

func TestWithinService(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Within: WithinService}}}
	w1 := ep("w1", 1, stackKey+"=s,"+serviceKey+"=s/web")
	w2 := ep("w2", 1, stackKey+"=s,"+serviceKey+"=s/web")
	db := ep("db", 2, stackKey+"=s,"+serviceKey+"=s/db")
	runDecide(t, p, []decideCase{
		{"same service", w1, w2, ProtoUDP, 53, VerdictAllow, 0},
		{"same stack, other service", w1, db, ProtoUDP, 53, VerdictDeny, -1},
	})
	p.ServiceLabel = "svc"
	runDecide(t, p, []decideCase{
		{"custom key", ep("x", 1, "svc=q"), ep("y", 2, "svc=q"), ProtoTCP, 1, VerdictAllow, 0},
	})
}

func TestWithinLinkedIsOneWay(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Within: WithinLinked}}}
	web := ep("web", 1, "", "db", "cache")
	db := ep("db", 2, "")
	cache := ep("cache", 3, "", "web")
	runDecide(t, p, []decideCase{
		{"web links db", web, db, ProtoTCP, 5432, VerdictAllow, 0},
		{"db does not link web", db, web, ProtoTCP, 80, VerdictDeny, -1},
		{"both ways when both link", cache, web, ProtoTCP, 80, VerdictAllow, 0},
		{"web links cache", web, cache, ProtoTCP, 6379, VerdictAllow, 0},
		{"no self link", web, web, ProtoTCP, 80, VerdictDeny, -1},
		{"an unnamed endpoint cannot be linked to", ep("x", 4, "", ""), ep("", 5, ""), ProtoTCP, 80, VerdictDeny, -1},
	})
}

func TestBetween(t *testing.T) {
	webA := ep("webA", 1, "app=web,tier=a")
	webB := ep("webB", 2, "app=web,tier=b")
	webA2 := ep("webA2", 3, "app=web,tier=a,x=y")
	dbA := ep("dbA", 4, "app=db,tier=a")
	plain := ep("plain", 5, "")
	t.Run("selector", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Between: &Between{Selector: "app=web"}}}}
		runDecide(t, p, []decideCase{
			{"both web", webA, webB, ProtoTCP, 80, VerdictAllow, 0},
			{"dst not web", webA, dbA, ProtoTCP, 80, VerdictDeny, -1},
			{"src not web", dbA, webA, ProtoTCP, 80, VerdictDeny, -1},
		})
	})
	t.Run("groupBy", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Between: &Between{GroupBy: "tier"}}}}
		runDecide(t, p, []decideCase{
			{"same tier", webA, dbA, ProtoTCP, 80, VerdictAllow, 0},
			{"other tier", webA, webB, ProtoTCP, 80, VerdictDeny, -1},
			{"no tier", plain, plain, ProtoTCP, 80, VerdictDeny, -1},
		})
	})
	t.Run("selector and groupBy", func(t *testing.T) {
		p := Policy{DefaultAction: ActionAllow, Rules: []Rule{{Action: ActionDeny, Between: &Between{Selector: "app=web", GroupBy: "tier"}}}}
		runDecide(t, p, []decideCase{
			{"web, same tier", webA, webA2, ProtoTCP, 80, VerdictDeny, 0},
			{"web, other tier", webA, webB, ProtoTCP, 80, VerdictAllow, -1},
			{"same tier, not both web", webA, dbA, ProtoTCP, 80, VerdictAllow, -1},
		})
	})
}

func TestFromTo(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{fromTo(ActionAllow, "app=web", "app=db")}}
	web, db := ep("web", 1, "app=web"), ep("db", 2, "app=db")
	runDecide(t, p, []decideCase{
		{"web to db", web, db, ProtoTCP, 5432, VerdictAllow, 0},
		{"web to db icmp", web, db, ProtoICMP, 0, VerdictAllow, 0},
		{"directional", db, web, ProtoTCP, 80, VerdictDeny, -1},
		{"web to web", web, web, ProtoTCP, 80, VerdictDeny, -1},
	})
}

func TestFirstMatchWins(t *testing.T) {
	web, db := ep("web", 1, "app=web"), ep("db", 2, "app=db")
	allow := fromTo(ActionAllow, "app=web", "app=db")
	deny := fromTo(ActionDeny, "app", "app")
	runDecide(t, Policy{DefaultAction: ActionDeny, Rules: []Rule{allow, deny}}, []decideCase{
		{"allow first", web, db, ProtoTCP, 80, VerdictAllow, 0},
		{"only the deny matches", db, web, ProtoTCP, 80, VerdictDeny, 1},
	})
	runDecide(t, Policy{DefaultAction: ActionDeny, Rules: []Rule{deny, allow}}, []decideCase{
		{"deny first", web, db, ProtoTCP, 80, VerdictDeny, 0},
	})
}

func TestDefaultAction(t *testing.T) {
	a, b := ep("a", 1, "app=a"), ep("b", 2, "app=b")
	never := fromTo(ActionDeny, "app=zzz", "app=zzz")
	for _, c := range []struct {
		def  Action
		want Verdict
	}{{"", VerdictAllow}, {ActionAllow, VerdictAllow}, {ActionDeny, VerdictDeny}} {
		runDecide(t, Policy{DefaultAction: c.def, Rules: []Rule{never}}, []decideCase{
			{"default " + string(c.def), a, b, ProtoTCP, 80, c.want, -1},
		})
		runDecide(t, Policy{DefaultAction: c.def}, []decideCase{
			{"no rules " + string(c.def), a, b, ProtoICMP, 0, c.want, -1},
		})
	}
}

func TestPortsAndProtocols(t *testing.T) {
	web, db := ep("web", 1, "app=web"), ep("db", 2, "app=db")
	p := Policy{DefaultAction: ActionAllow, Rules: []Rule{
		fromTo(ActionDeny, "app=web", "app=db", "5432", "53/udp"),
		fromTo(ActionAllow, "app=web", "app=db", "5432/udp"),
		fromTo(ActionDeny, "app=web", "app=db"),
	}}
	runDecide(t, p, []decideCase{
		{"5432 is tcp", web, db, ProtoTCP, 5432, VerdictDeny, 0},
		{"5432/udp is a later rule", web, db, ProtoUDP, 5432, VerdictAllow, 1},
		{"53/udp", web, db, ProtoUDP, 53, VerdictDeny, 0},
		{"53/tcp falls to the portless rule", web, db, ProtoTCP, 53, VerdictDeny, 2},
		{"icmp never matches a port rule", web, db, ProtoICMP, 0, VerdictDeny, 2},
		{"other protocol", web, db, 47, 0, VerdictDeny, 2},
		{"reverse direction is default", db, web, ProtoTCP, 5432, VerdictAllow, -1},
	})
	// Ports on within and between narrow them too.
	q := Policy{DefaultAction: ActionDeny, Rules: []Rule{
		{Action: ActionAllow, Within: WithinStack, Ports: []string{"80"}},
		{Action: ActionAllow, Between: &Between{GroupBy: "tier"}, Ports: []string{"53/udp"}},
	}}
	s1, s2 := ep("s1", 1, stackKey+"=s,tier=x"), ep("s2", 2, stackKey+"=s,tier=x")
	runDecide(t, q, []decideCase{
		{"within stack port 80", s1, s2, ProtoTCP, 80, VerdictAllow, 0},
		{"within stack port 81", s1, s2, ProtoTCP, 81, VerdictDeny, -1},
		{"between 53/udp", s1, s2, ProtoUDP, 53, VerdictAllow, 1},
	})
}

func TestSelectorForms(t *testing.T) {
	web := ep("web", 1, "app=web,tier=front,env=prod")
	db := ep("db", 2, "app=db,tier=back")
	bare := ep("bare", 3, "")
	cases := []struct {
		sel   string
		match map[string]bool // endpoint name → selected
	}{
		{"app=web", map[string]bool{"web": true, "db": false, "bare": false}},
		{"app==web", map[string]bool{"web": true, "db": false, "bare": false}},
		{"app!=web", map[string]bool{"web": false, "db": true, "bare": true}}, // absent key matches !=
		{"app in (web,db)", map[string]bool{"web": true, "db": true, "bare": false}},
		{"app notin (web)", map[string]bool{"web": false, "db": true, "bare": true}},
		{"env", map[string]bool{"web": true, "db": false, "bare": false}},
		{"!env", map[string]bool{"web": false, "db": true, "bare": true}},
		{"tier=back,!env", map[string]bool{"web": false, "db": true, "bare": false}},
		{"app in (web, db), tier notin (back), env", map[string]bool{"web": true, "db": false, "bare": false}},
	}
	for _, c := range cases {
		// The selector picks the source; the destination is always selected.
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{fromTo(ActionAllow, c.sel, "!nothing")}}
		mustValid(t, p)
		for _, e := range []Endpoint{web, db, bare} {
			v, _ := Decide(p, e, bare, ProtoTCP, 80)
			if (v == VerdictAllow) != c.match[e.Name] {
				t.Errorf("selector %q on %s: got %s, want selected=%v", c.sel, e.Name, v, c.match[e.Name])
			}
		}
		// And the same selector as between.selector, with both ends the endpoint.
		q := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Between: &Between{Selector: c.sel}}}}
		for _, e := range []Endpoint{web, db, bare} {
			v, _ := Decide(q, e, e, ProtoTCP, 80)
			if (v == VerdictAllow) != c.match[e.Name] {
				t.Errorf("between %q on %s: got %s", c.sel, e.Name, v)
			}
		}
	}
}

// Decide on an invalid policy: invalid rules never match; an invalid default denies.
func TestDecideInvalidPolicy(t *testing.T) {
	a := ep("a", 1, "app=a")
	p := Policy{DefaultAction: "bogus", Rules: []Rule{
		fromTo(ActionAllow, "app in (", "app"),
		{Action: "permit", Within: WithinStack},
		fromTo(ActionAllow, "app", "app", "99999"),
	}}
	if v, r := Decide(p, a, a, ProtoTCP, 80); v != VerdictDeny || r != -1 {
		t.Errorf("got %s by %d", v, r)
	}
}
