package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestValidateAcceptsEveryForm(t *testing.T) {
	p := Policy{
		DefaultAction: ActionDeny,
		Rules: []Rule{
			{Action: ActionAllow, Within: WithinStack},
			{Action: ActionAllow, Within: WithinService},
			{Action: ActionAllow, Within: WithinLinked, Ports: []string{"80"}},
			{Action: ActionDeny, Between: &Between{Selector: "app=web"}},
			{Action: ActionDeny, Between: &Between{GroupBy: "tier"}},
			{Action: ActionDeny, Between: &Between{Selector: "env in (prod)", GroupBy: "example.com/tier"}},
			fromTo(ActionAllow, "app=web", "app in (db,cache),!legacy", "5432/tcp", "53/udp", "8080"),
		},
	}
	mustValid(t, p)
	mustValid(t, Policy{}) // empty default means allow; no rules is fine
}

// Each case is one invalid policy and the exact errors Validate reports.
func TestValidateErrors(t *testing.T) {
	web, db := &Selector{Selector: "app=web"}, &Selector{Selector: "app=db"}
	cases := []struct {
		name string
		p    Policy
		want []string
	}{
		{"bad default", Policy{DefaultAction: "drop"},
			[]string{`defaultPolicyAction: "drop" is not allow or deny`}},
		{"bad action", Policy{Rules: []Rule{{Action: "permit", Within: WithinStack}}},
			[]string{`rules[0].action: "permit" is not allow or deny`}},
		{"missing action", Policy{Rules: []Rule{{Within: WithinStack}}},
			[]string{`rules[0].action: "" is not allow or deny`}},
		{"within and between", Policy{Rules: []Rule{
			{Action: ActionAllow, Within: WithinStack},
			{Action: ActionAllow, Within: WithinStack, Between: &Between{GroupBy: "tier"}}}},
			[]string{`rules[1]: within excludes between, from and to`}},
		{"within and from/to", Policy{Rules: []Rule{{Action: ActionAllow, Within: WithinLinked, From: web, To: db}}},
			[]string{`rules[0]: within excludes between, from and to`}},
		{"between and from", Policy{Rules: []Rule{{Action: ActionAllow, Between: &Between{GroupBy: "tier"}, From: web}}},
			[]string{`rules[0]: between excludes from and to`}},
		{"port out of range", Policy{Rules: []Rule{
			{Action: ActionAllow, Within: WithinStack}, {Action: ActionAllow, Within: WithinStack},
			fromTo(ActionAllow, "app=web", "app=db", "70000")}},
			[]string{`rules[2].ports[0]: port 70000 out of range 1-65535`}},
		{"port zero", Policy{Rules: []Rule{fromTo(ActionAllow, "app=web", "app=db", "80", "0/udp")}},
			[]string{`rules[0].ports[1]: port 0 out of range 1-65535`}},
		{"bad protocol", Policy{Rules: []Rule{fromTo(ActionAllow, "app=web", "app=db", "53/sctp")}},
			[]string{`rules[0].ports[0]: protocol "sctp" is not tcp or udp`}},
		{"not a port", Policy{Rules: []Rule{fromTo(ActionAllow, "app=web", "app=db", "http")}},
			[]string{`rules[0].ports[0]: "http" is not a port number`}},
		{"unknown within", Policy{Rules: []Rule{
			{Action: ActionAllow, Within: WithinStack}, {Action: ActionAllow, Within: WithinStack},
			{Action: ActionAllow, Within: WithinStack}, {Action: ActionDeny, Within: "cluster"}}},
			[]string{`rules[3].within: "cluster" is not stack, service or linked`}},
		{"empty rule", Policy{Rules: []Rule{{Action: ActionAllow}}},
			[]string{`rules[0]: needs within, between, or both from and to`}},
		{"from without to", Policy{Rules: []Rule{{Action: ActionDeny, From: web}}},
			[]string{`rules[0]: needs within, between, or both from and to`}},
		{"to without from", Policy{Rules: []Rule{{Action: ActionDeny, To: db}}},
			[]string{`rules[0]: needs within, between, or both from and to`}},
		{"between without selector or groupBy", Policy{Rules: []Rule{{Action: ActionAllow, Between: &Between{}}}},
			[]string{`rules[0].between: needs selector or groupBy`}},
		{"bad between selector", Policy{Rules: []Rule{{Action: ActionAllow, Between: &Between{Selector: "app in (a"}}}},
			[]string{`rules[0].between.selector: unable to parse requirement: found '', expected: ',' or ')'`}},
		{"bad groupBy", Policy{Rules: []Rule{{Action: ActionAllow, Between: &Between{GroupBy: "bad key"}}}},
			[]string{`rules[0].between.groupBy: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{"bad from selector", Policy{Rules: []Rule{fromTo(ActionAllow, "app in (web", "app=db")}},
			[]string{`rules[0].from.selector: unable to parse requirement: found '', expected: ',' or ')'`}},
		{"bad to selector", Policy{Rules: []Rule{fromTo(ActionAllow, "app=web", "a b")}},
			[]string{`rules[0].to.selector: unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt`}},
		{"trailing comma", Policy{Rules: []Rule{fromTo(ActionAllow, "app=web,", "app=db")}},
			[]string{`rules[0].from.selector: found '', expected: identifier after ','`}},
		{"empty from selector", Policy{Rules: []Rule{fromTo(ActionAllow, "", "app=db")}},
			[]string{`rules[0].from.selector: must not be empty`}},
		{"bad stack label", Policy{StackLabel: "-x"},
			[]string{`stackLabel: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{"several at once", Policy{DefaultAction: "x", Rules: []Rule{
			{Action: "y", Within: "z", Ports: []string{"0"}},
			{Action: ActionAllow, Between: &Between{}, From: web}}},
			[]string{
				`defaultPolicyAction: "x" is not allow or deny`,
				`rules[0].action: "y" is not allow or deny`,
				`rules[0].within: "z" is not stack, service or linked`,
				`rules[0].ports[0]: port 0 out of range 1-65535`,
				`rules[1]: between excludes from and to`,
				`rules[1].between: needs selector or groupBy`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate()
			got := errStrings(err)
			if !slices.Equal(got, c.want) {
				t.Errorf("errors:\n got  %q\n want %q", got, c.want)
			}
			if err != nil && err.Error() != strings.Join(c.want, "\n") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestFieldErrorShape(t *testing.T) {
	err := Policy{Rules: []Rule{{Action: "permit", Within: WithinStack}}}.Validate()
	fes := FieldErrors(err)
	if len(fes) != 1 || fes[0].Path != "rules[0].action" || fes[0].Msg != `"permit" is not allow or deny` {
		t.Fatalf("got %#v", fes)
	}
	if (&FieldError{Msg: "m"}).Error() != "m" {
		t.Error("empty path should print the message alone")
	}
	if FieldErrors(nil) != nil {
		t.Error("FieldErrors(nil) should be nil")
	}
}
