package policy

import (
	"strings"
	"testing"
)

// ep builds an endpoint; lbls is "k=v,k2=v2" (no value: "k" means k="").
func ep(name string, id uint32, lbls string, links ...string) Endpoint {
	m := map[string]string{}
	for _, kv := range strings.Split(lbls, ",") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return Endpoint{Name: name, Identity: id, Labels: m, Links: links}
}

// mustValid fails the test if p does not validate.
func mustValid(t *testing.T, p Policy) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("policy invalid: %v", err)
	}
}

// errStrings returns the messages of every FieldError in err.
func errStrings(err error) []string {
	var out []string
	for _, fe := range FieldErrors(err) {
		out = append(out, fe.Error())
	}
	return out
}

// fromTo builds a from/to rule.
func fromTo(a Action, from, to string, ports ...string) Rule {
	return Rule{Action: a, From: &Selector{Selector: from}, To: &Selector{Selector: to}, Ports: ports}
}
