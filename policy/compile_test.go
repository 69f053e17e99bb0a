package policy

import (
	"errors"
	"slices"
	"testing"
)

func mustCompile(t *testing.T, p Policy, eps []Endpoint) Compiled {
	t.Helper()
	c, err := Compile(p, eps)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func wantEntries(t *testing.T, c Compiled, want []Entry) {
	t.Helper()
	if !slices.Equal(c.Entries, want) {
		t.Errorf("entries:\n got  %+v\n want %+v", c.Entries, want)
	}
}

func TestCompileWithinStack(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Within: WithinStack}}}
	eps := []Endpoint{
		ep("a1", 10, stackKey+"=a"), ep("a2", 10, stackKey+"=a"), // shared identity
		ep("a3", 11, stackKey+"=a,app=x"),
		ep("b1", 20, stackKey+"=b"),
		ep("n", 30, ""),
	}
	c := mustCompile(t, p, eps)
	if c.Default != VerdictDeny {
		t.Errorf("default %s", c.Default)
	}
	wantEntries(t, c, []Entry{
		{Src: 10, Dst: 10, Verdict: VerdictAllow, Rule: 0},
		{Src: 10, Dst: 11, Verdict: VerdictAllow, Rule: 0},
		{Src: 11, Dst: 10, Verdict: VerdictAllow, Rule: 0},
		{Src: 11, Dst: 11, Verdict: VerdictAllow, Rule: 0},
		{Src: 20, Dst: 20, Verdict: VerdictAllow, Rule: 0},
	})
	// With default allow the same verdicts come out, but the entries stay: drop events and
	// explain must name the rule that decides, not the default action.
	p.DefaultAction = ActionAllow
	wantEntries(t, mustCompile(t, p, eps), []Entry{
		{Src: 10, Dst: 10, Verdict: VerdictAllow, Rule: 0},
		{Src: 10, Dst: 11, Verdict: VerdictAllow, Rule: 0},
		{Src: 11, Dst: 10, Verdict: VerdictAllow, Rule: 0},
		{Src: 11, Dst: 11, Verdict: VerdictAllow, Rule: 0},
		{Src: 20, Dst: 20, Verdict: VerdictAllow, Rule: 0},
	})
}

func TestCompilePortsAndElision(t *testing.T) {
	web, db := ep("web", 1, "app=web"), ep("db", 2, "app=db")
	eps := []Endpoint{web, db}
	t.Run("port exception to a portless rule", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{
			fromTo(ActionDeny, "app=web", "app=db", "5432", "53/udp"),
			fromTo(ActionAllow, "app=web", "app=db"),
		}}
		wantEntries(t, mustCompile(t, p, eps), []Entry{
			{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 1},
			{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 5432, Verdict: VerdictDeny, Rule: 0},
			{Src: 1, Dst: 2, Proto: ProtoUDP, Port: 53, Verdict: VerdictDeny, Rule: 0},
		})
	})
	t.Run("port entries equal to the pair's rest are left out", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{
			fromTo(ActionAllow, "app=web", "app=db"),
			fromTo(ActionAllow, "app=web", "app=db", "80"), // shadowed: rule 0 decides port 80
		}}
		wantEntries(t, mustCompile(t, p, eps), []Entry{{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 0}})
	})
	t.Run("a port decided by another rule with the same verdict keeps its entry", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{
			fromTo(ActionAllow, "app=web", "app=db", "80"),
			fromTo(ActionAllow, "app=web", "app=db"),
		}}
		wantEntries(t, mustCompile(t, p, eps), []Entry{
			{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 1},
			{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 80, Verdict: VerdictAllow, Rule: 0},
		})
	})
	t.Run("port entries without an any-traffic entry", func(t *testing.T) {
		p := Policy{DefaultAction: ActionDeny, Rules: []Rule{
			fromTo(ActionAllow, "app=web", "app=db", "5432/tcp", "5432/udp", "5432"), // duplicate deduped
			fromTo(ActionDeny, "app=web", "app=db", "5432/udp"),                      // shadowed
		}}
		wantEntries(t, mustCompile(t, p, eps), []Entry{
			{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 5432, Verdict: VerdictAllow, Rule: 0},
			{Src: 1, Dst: 2, Proto: ProtoUDP, Port: 5432, Verdict: VerdictAllow, Rule: 0},
		})
	})
	t.Run("a port claimed by an earlier rule keeps its verdict", func(t *testing.T) {
		p := Policy{DefaultAction: ActionAllow, Rules: []Rule{
			fromTo(ActionAllow, "app=web", "app=db", "443"),
			fromTo(ActionDeny, "app=web", "app=db", "443", "80"),
		}}
		c := mustCompile(t, p, eps)
		wantEntries(t, c, []Entry{
			{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 80, Verdict: VerdictDeny, Rule: 1},
			{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 443, Verdict: VerdictAllow, Rule: 0},
		})
		if v, r := c.Lookup(1, 2, ProtoTCP, 443); v != VerdictAllow || r != 0 {
			t.Errorf("443: %s by %d", v, r)
		}
	})
}

func TestCompiledLookupOrder(t *testing.T) {
	c := Compiled{Default: VerdictDeny, Entries: []Entry{
		{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 3},
		{Src: 1, Dst: 2, Proto: ProtoTCP, Port: 22, Verdict: VerdictDeny, Rule: 1},
		{Src: 2, Dst: 1, Proto: ProtoUDP, Port: 53, Verdict: VerdictAllow, Rule: 0},
	}}
	for _, q := range []struct {
		src, dst uint32
		proto    uint8
		port     uint16
		v        Verdict
		rule     int
	}{
		{1, 2, ProtoTCP, 22, VerdictDeny, 1},
		{1, 2, ProtoTCP, 23, VerdictAllow, 3},
		{1, 2, ProtoICMP, 0, VerdictAllow, 3},
		{2, 1, ProtoUDP, 53, VerdictAllow, 0},
		{2, 1, ProtoTCP, 53, VerdictDeny, -1},
		{3, 3, ProtoTCP, 22, VerdictDeny, -1},
	} {
		if v, r := c.Lookup(q.src, q.dst, q.proto, q.port); v != q.v || r != q.rule {
			t.Errorf("Lookup(%d,%d,%d,%d) = %s,%d; want %s,%d", q.src, q.dst, q.proto, q.port, v, r, q.v, q.rule)
		}
	}
}

func TestCompileLinked(t *testing.T) {
	p := Policy{DefaultAction: ActionDeny, Rules: []Rule{{Action: ActionAllow, Within: WithinLinked}}}
	t.Run("distinct identities: the linked pairs get entries, one way", func(t *testing.T) {
		eps := []Endpoint{
			ep("web1", 1, "app=web", "db1", "db1", "ghost"), // duplicate and unknown links are ignored
			ep("web2", 1, "app=web", "db1"),                 // same identity, same links
			ep("db1", 2, "app=db"),
		}
		wantEntries(t, mustCompile(t, p, eps), []Entry{{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 0}})
	})
	t.Run("shared identity, different links, different verdicts: refused", func(t *testing.T) {
		eps := []Endpoint{ep("web1", 1, "app=web", "db1"), ep("web2", 1, "app=web"), ep("db1", 2, "app=db")}
		_, err := Compile(p, eps)
		var amb *AmbiguityError
		if !errors.As(err, &amb) {
			t.Fatalf("want *AmbiguityError, got %v", err)
		}
		want := `identities 1 -> 2: "web1" links to "db1" and gets allow for icmp, "web2" does not link to "db1" and gets deny; give endpoints with different links different identities`
		if err.Error() != want {
			t.Errorf("\n got  %s\n want %s", err, want)
		}
	})
	t.Run("differing on one port only", func(t *testing.T) {
		q := Policy{DefaultAction: ActionAllow, Rules: []Rule{
			{Action: ActionAllow, Within: WithinLinked, Ports: []string{"5432"}},
			fromTo(ActionDeny, "app=web", "app=db", "5432"),
		}}
		eps := []Endpoint{ep("web1", 1, "app=web", "db1"), ep("web2", 1, "app=web"), ep("db1", 2, "app=db")}
		_, err := Compile(q, eps)
		want := `identities 1 -> 2: "web1" links to "db1" and gets allow for 5432/tcp, "web2" does not link to "db1" and gets deny; give endpoints with different links different identities`
		if err == nil || err.Error() != want {
			t.Errorf("\n got  %v\n want %s", err, want)
		}
	})
	t.Run("shared identity, different links, same verdicts: accepted", func(t *testing.T) {
		q := Policy{DefaultAction: ActionDeny, Rules: []Rule{
			{Action: ActionAllow, Within: WithinLinked},
			fromTo(ActionAllow, "app=web", "app=db"),
		}}
		eps := []Endpoint{ep("web1", 1, "app=web", "db1"), ep("web2", 1, "app=web"), ep("db1", 2, "app=db")}
		// The unlinked pairs' rule (1) matches the linked pair too.
		wantEntries(t, mustCompile(t, q, eps), []Entry{{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 1}})
	})
	t.Run("the fix: identities that include links", func(t *testing.T) {
		eps := []Endpoint{ep("web1", 1, "app=web", "db1"), ep("web2", 3, "app=web"), ep("db1", 2, "app=db")}
		c := mustCompile(t, p, eps)
		wantEntries(t, c, []Entry{{Src: 1, Dst: 2, Verdict: VerdictAllow, Rule: 0}})
		if v, _ := c.Lookup(3, 2, ProtoTCP, 1); v != VerdictDeny {
			t.Error("web2 should be denied")
		}
	})
}

func TestCompileRefusesBadInput(t *testing.T) {
	ok := Policy{Rules: []Rule{{Action: ActionAllow, Within: WithinStack}}}
	_, err := Compile(Policy{Rules: []Rule{{Action: "permit", Within: WithinStack}}}, nil)
	if got := errStrings(err); !slices.Equal(got, []string{`rules[0].action: "permit" is not allow or deny`}) {
		t.Errorf("invalid policy: %q", got)
	}
	_, err = Compile(ok, []Endpoint{ep("a", 1, "x=1"), ep("b", 2, ""), ep("a", 3, ""), ep("c", 1, "x=2"), ep("", 4, ""), ep("", 5, "")})
	want := []string{
		`endpoints[2].name: "a" is also endpoints[0]`,
		`endpoints[3].labels: identity 1 is also endpoints[0] ("a"), whose labels differ`,
	}
	if got := errStrings(err); !slices.Equal(got, want) {
		t.Errorf("bad endpoints:\n got  %q\n want %q", got, want)
	}
	if c, err := Compile(ok, nil); err != nil || len(c.Entries) != 0 || c.Default != VerdictAllow {
		t.Errorf("no endpoints: %+v, %v", c, err)
	}
}

// The example policy file compiles and its lookup agrees with Decide.
func TestCompileRancherExample(t *testing.T) {
	p, err := Parse(readTestdata(t, "rancher.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eps := []Endpoint{
		ep("web1", 1, stackKey+"=shop,"+serviceKey+"=shop.web,app=web,env=prod,tier=front", "db1"),
		ep("web2", 1, stackKey+"=shop,"+serviceKey+"=shop.web,app=web,env=prod,tier=front", "db1"),
		ep("db1", 2, stackKey+"=shop,"+serviceKey+"=shop.db,app=db,env=prod,tier=back"),
		ep("dns1", 3, "app=dns"),
		ep("x", 4, "untrusted,env=prod,tier=front"),
		ep("y", 5, "env=staging,tier=back"),
	}
	c := mustCompile(t, p, eps)
	checkAgainstDecide(t, p, eps, c, []Port{{Proto: ProtoTCP, Port: 5432}, {Proto: ProtoUDP, Port: 53}, {Proto: ProtoTCP, Port: 53}, {Proto: ProtoTCP, Port: 80}, {Proto: ProtoICMP, Port: 0}})
	t.Logf("%d endpoints, %d entries", len(eps), len(c.Entries))
}
