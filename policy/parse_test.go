package policy

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// rancherPolicy is what testdata/rancher.yaml and testdata/rancher.json hold.
var rancherPolicy = Policy{
	DefaultAction: ActionDeny,
	Rules: []Rule{
		{Action: ActionAllow, Within: WithinLinked},
		fromTo(ActionDeny, "app=web", "app=db", "5432/tcp"),
		{Action: ActionAllow, Within: WithinService},
		{Action: ActionAllow, Between: &Between{Selector: "env in (prod, staging)", GroupBy: "tier"}},
		fromTo(ActionAllow, "!untrusted", "app=dns", "53/udp", "53"),
		{Action: ActionAllow, Within: WithinStack},
	},
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseYAMLAndJSONFiles(t *testing.T) {
	for _, f := range []string{"rancher.yaml", "rancher.json", "rancher-network.json", "rancher-network.yaml"} {
		p, err := Parse(readTestdata(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(p, rancherPolicy) {
			t.Errorf("%s: got %+v", f, p)
		}
	}
}

// The example file decides as its comments say.
func TestRancherExampleDecisions(t *testing.T) {
	p, err := Parse(readTestdata(t, "rancher.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, sv := "io.rancher.stack.name", "io.rancher.stack_service.name"
	web := ep("web1", 1, s+"=shop,"+sv+"=shop/web,app=web,env=prod,tier=front", "db1")
	web2 := ep("web2", 1, s+"=shop,"+sv+"=shop/web,app=web,env=prod,tier=front")
	db := ep("db1", 2, s+"=shop,"+sv+"=shop/db,app=db,env=prod,tier=back")
	dns := ep("dns1", 3, "app=dns")
	bad := ep("x", 4, "untrusted,env=prod,tier=front")
	cases := []struct {
		src, dst Endpoint
		proto    uint8
		port     uint16
		want     Verdict
		rule     int
	}{
		{web, db, ProtoTCP, 5432, VerdictAllow, 0}, // linked wins over the deny below
		{web2, db, ProtoTCP, 5432, VerdictDeny, 1}, // not linked: denied
		{web2, db, ProtoTCP, 80, VerdictAllow, 5},  // same stack
		{db, web, ProtoTCP, 80, VerdictAllow, 5},   // links are one-way, stack allows
		{web, web2, ProtoICMP, 0, VerdictAllow, 2}, // same service
		{bad, web, ProtoTCP, 443, VerdictAllow, 3}, // env=prod, same tier
		{bad, db, ProtoTCP, 443, VerdictDeny, -1},  // other tier, other stack
		{web, dns, ProtoUDP, 53, VerdictAllow, 4},  // DNS
		{web, dns, ProtoTCP, 53, VerdictAllow, 4},  // "53" is 53/tcp
		{web, dns, ProtoUDP, 54, VerdictDeny, -1},  // other port
		{bad, dns, ProtoUDP, 53, VerdictDeny, -1},  // untrusted
		{dns, dns, ProtoICMP, 0, VerdictDeny, -1},  // no stack label
	}
	for _, c := range cases {
		v, r := Decide(p, c.src, c.dst, c.proto, c.port)
		if v != c.want || r != c.rule {
			t.Errorf("%s -> %s %s: got %s by rule %d, want %s by rule %d", c.src.Name, c.dst.Name,
				trafficString(c.proto, c.port), v, r, c.want, c.rule)
		}
	}
}

func TestParseInvalidFileReportsEverything(t *testing.T) {
	p, err := Parse(readTestdata(t, "invalid.yaml"))
	want := []string{
		`defaultPolicyAction: "drop" is not allow or deny`,
		`rules[0].action: "permit" is not allow or deny`,
		`rules[1]: within excludes between, from and to`,
		`rules[2].ports[1]: port 70000 out of range 1-65535`,
		`rules[2].ports[2]: port 0 out of range 1-65535`,
		`rules[2].ports[3]: protocol "sctp" is not tcp or udp`,
		`rules[3].within: "cluster" is not stack, service or linked`,
		`rules[4]: needs within, between, or both from and to`,
		`rules[5].between: needs selector or groupBy`,
		`rules[6].from.selector: unable to parse requirement: found '', expected: ',' or ')'`,
		`rules[6].to.selector: must not be empty`,
	}
	if got := errStrings(err); !slices.Equal(got, want) {
		t.Errorf("errors:\n got  %q\n want %q", got, want)
	}
	if len(p.Rules) != 7 {
		t.Errorf("the decoded policy should come back with the errors, got %d rules", len(p.Rules))
	}
}

func TestParseDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"":                       "parse policy: empty document",
		"  \n# only a comment\n": "parse policy: empty document",
		"[1, 2]":                 "parse policy: the document is not a mapping",
		"rules: {}":              "parse policy: json: cannot unmarshal object into Go struct field Policy.rules of type []api.NetworkPolicyRule",
		"defaultPolicyAction: deny\ndefaultPolicyAction: allow\n":                      "parse policy: yaml: unmarshal errors:\n  line 2: key \"defaultPolicyAction\" already set in map",
		`{"rules": [{"action": "allow", "within": "stack"}], "extra": 1}`:              `parse policy: unknown field "extra" (known: defaultPolicyAction, policy (or its alias rules), stackLabel, serviceLabel; Rancher's other network fields (` + strings.Join(rancherIgnored, ", ") + `) are ignored)`,
		`{"policy": [{"action": "allow", "within": "stack", "to": {"selectr": "a"}}]}`: `parse policy: policy[0].to: unknown field "selectr" (known: selector)`,
		`{"policy": [{"action": "allow", "between": {"groupby": "a"}}]}`:               `parse policy: policy[0].between: unknown field "groupby" (known: selector, groupBy)`,
		`{"policy": [], "rules": []}`:                                                  `parse policy: both "policy" and "rules" are given: they are the same list (Rancher's name and ebpfnet's), give one`,
		"rules:\n- action: allow\n  within: [stack\n":                                  "parse policy: yaml: line 3: did not find expected ',' or ']'",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
			continue
		}
		if want != "" && err.Error() != want {
			t.Errorf("Parse(%q) error\n got  %q\n want %q", in, err.Error(), want)
		}
	}
	_, err := Parse(readTestdata(t, "unknown-field.yaml"))
	if err == nil || err.Error() != `parse policy: rules[0]: unknown field "whithin" (known: action, within, between, from, to, ports, network)` {
		t.Errorf("misspelt field: %v", err)
	}
}

func TestParseDefaultsAndNumericPorts(t *testing.T) {
	p, err := Parse([]byte("rules:\n- {action: deny, from: {selector: a}, to: {selector: b}, ports: [80, 53/udp, 443]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != ActionAllow {
		t.Errorf("default action %q, want allow", p.DefaultAction)
	}
	if got := p.Rules[0].Ports; !slices.Equal(got, []string{"80", "53/udp", "443"}) {
		t.Errorf("ports %q", got)
	}
	_, err = Parse([]byte("rules:\n- {action: deny, from: {selector: a}, to: {selector: b}, ports: [70000]}\n"))
	if err == nil || err.Error() != "rules[0].ports[0]: port 70000 out of range 1-65535" {
		t.Errorf("numeric out-of-range port: %v", err)
	}
	// JSON and YAML round trip through the same struct tags.
	p2, err := Parse([]byte(`{"defaultPolicyAction":"deny","rules":[],"stackLabel":"stack"}`))
	if err != nil || p2.StackLabel != "stack" || p2.DefaultAction != ActionDeny {
		t.Errorf("got %+v, %v", p2, err)
	}
	if !strings.Contains(rancherPolicy.Rules[1].String(), "ports 5432/tcp") {
		t.Errorf("String: %s", rancherPolicy.Rules[1])
	}
}
