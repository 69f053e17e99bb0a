package policy

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebpfnet/ebpfnet/api"
)

// Validate checks p against Rancher's rules (network-policy-manager
// policy/policy.go, NetworkPolicyRule.Validate, plus the API's enums) and returns
// every problem at once, errors.Join of *FieldError, or nil. The messages:
//
//	defaultPolicyAction: "drop" is not allow or deny
//	stackLabel: <why the key is not a valid label key>        (also serviceLabel)
//	rules[0].action: "permit" is not allow or deny
//	rules[3].within: "cluster" is not stack, service or linked
//	rules[1]: within excludes between, from and to
//	rules[1]: between excludes from and to
//	rules[4]: needs within, between, or both from and to
//	rules[5].between: needs selector or groupBy
//	rules[5].between.selector: <labels.Parse error>
//	rules[5].between.groupBy: <why the key is not a valid label key>
//	rules[6].from.selector: must not be empty                 (also to)
//	rules[6].from.selector: <labels.Parse error>              (also to)
//	rules[2].ports[0]: port 70000 out of range 1-65535        (see api.ParsePolicyPort)
//
// An empty defaultPolicyAction is allowed and means allow. Unlike Rancher, ports are
// accepted with within and between too (ebpfnet enforces them on every form).
func (p Policy) Validate() error {
	var errs []error
	if p.DefaultAction != "" && !validAction(p.DefaultAction) {
		errs = append(errs, fieldErr("defaultPolicyAction", fmt.Sprintf("%q is not allow or deny", p.DefaultAction)))
	}
	if p.StackLabel != "" {
		if msg := labelKeyProblem(p.StackLabel); msg != "" {
			errs = append(errs, fieldErr("stackLabel", msg))
		}
	}
	if p.ServiceLabel != "" {
		if msg := labelKeyProblem(p.ServiceLabel); msg != "" {
			errs = append(errs, fieldErr("serviceLabel", msg))
		}
	}
	for nw, a := range p.NetworkDefaults {
		if a != "" && !validAction(a) {
			errs = append(errs, fieldErr("networkDefaults."+nw, fmt.Sprintf("%q is not allow or deny", a)))
		}
	}
	for i, r := range p.Rules {
		errs = append(errs, validateRule(i, r)...)
	}
	return joinErrs(errs)
}

// validateRule returns the problems of rule i: action, shape, then each part.
func validateRule(i int, r Rule) []error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, fieldErr(ruleField(i, field), msg)) }

	if !validAction(r.Action) {
		add("action", fmt.Sprintf("%q is not allow or deny", r.Action))
	}

	// Shape: exactly one of within, between, from+to (Rancher's if/else chain).
	switch {
	case r.Within != "" && (r.Between != nil || r.From != nil || r.To != nil):
		add("", "within excludes between, from and to")
	case r.Between != nil && (r.From != nil || r.To != nil):
		add("", "between excludes from and to")
	case r.Within == "" && r.Between == nil && (r.From == nil || r.To == nil):
		add("", "needs within, between, or both from and to")
	}

	if r.Within != "" && r.Within != WithinStack && r.Within != WithinService && r.Within != WithinLinked {
		add("within", fmt.Sprintf("%q is not stack, service or linked", r.Within))
	}
	if b := r.Between; b != nil {
		if b.Selector == "" && b.GroupBy == "" {
			add("between", "needs selector or groupBy")
		}
		if _, err := parseSelector(b.Selector); err != nil {
			add("between.selector", err.Error())
		}
		if b.GroupBy != "" {
			if msg := labelKeyProblem(b.GroupBy); msg != "" {
				add("between.groupBy", msg)
			}
		}
	}
	for _, m := range []struct {
		name string
		sel  *Selector
	}{{"from", r.From}, {"to", r.To}} {
		if m.sel == nil {
			continue
		}
		if strings.TrimSpace(m.sel.Selector) == "" {
			add(m.name+".selector", "must not be empty")
		} else if _, err := parseSelector(m.sel.Selector); err != nil {
			add(m.name+".selector", err.Error())
		}
	}
	for j, s := range r.Ports {
		if _, err := api.ParsePolicyPort(s); err != nil {
			add(fmt.Sprintf("ports[%d]", j), err.Error())
		}
	}
	return errs
}

// validAction reports whether a is allow or deny.
func validAction(a Action) bool { return a == ActionAllow || a == ActionDeny }

// labelKeyProblem is why key is not a Kubernetes label key ("" if it is one).
func labelKeyProblem(key string) string {
	return strings.Join(validation.IsQualifiedName(key), "; ")
}
