package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Field names a policy document may use. Rancher 1.6's `network` resource (API v2-beta, the
// go-rancher `Network` and `NetworkPolicyRule` types) carries the policy in `policy`; ebpfnet's
// own files and API use `rules`, an alias. The resource's other fields are accepted and ignored,
// so a network exported from Rancher applies as it is.
var (
	policyFields      = []string{"defaultPolicyAction", "policy", "rules", "stackLabel", "serviceLabel"}
	ruleFields        = []string{"action", "within", "between", "from", "to", "ports", "network"}
	betweenFields     = []string{"selector", "groupBy"}
	selectorFields    = []string{"selector"}
	rancherIgnored    = []string{"id", "type", "baseType", "links", "actions", "name", "description", "kind", "uuid", "state", "created", "createdTS", "accountId", "data", "metadata", "removed", "removeTime", "transitioning", "transitioningMessage", "transitioningProgress", "networkDriverId", "subnets", "hostPorts", "dns", "dnsSearch"}
	errNotAMapping    = errors.New("the document is not a mapping")
	errPolicyAndRules = errors.New(`both "policy" and "rules" are given: they are the same list (Rancher's name and ebpfnet's), give one`)
)

// normalize checks the field names of a decoded document against the known ones (naming the
// known ones in the error), drops Rancher's network fields that are not policy, renames
// `policy` to `rules`, and turns numeric ports into strings (YAML's `ports: [80]` is Rancher's
// `["80"]`). Values are left for the strict decoder to check.
func normalize(doc any) (map[string]any, error) {
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errNotAMapping
	}
	for k := range top {
		if slices.Contains(rancherIgnored, k) {
			delete(top, k)
		} else if !slices.Contains(policyFields, k) {
			return nil, unknownField("", k, `defaultPolicyAction, policy (or its alias rules), stackLabel, serviceLabel; Rancher's other network fields (`+strings.Join(rancherIgnored, ", ")+`) are ignored`)
		}
	}
	list := "rules"
	if p, ok := top["policy"]; ok {
		if _, both := top["rules"]; both {
			return nil, errPolicyAndRules
		}
		list = "policy"
		top["rules"] = p
		delete(top, "policy")
	}
	rules, _ := top["rules"].([]any)
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			continue // the strict decoder names the wrong type
		}
		at := fmt.Sprintf("%s[%d]", list, i)
		if err := checkFields(at, rule, ruleFields); err != nil {
			return nil, err
		}
		for _, sub := range []struct {
			key   string
			known []string
		}{{"between", betweenFields}, {"from", selectorFields}, {"to", selectorFields}} {
			if m, ok := rule[sub.key].(map[string]any); ok {
				if err := checkFields(at+"."+sub.key, m, sub.known); err != nil {
					return nil, err
				}
			}
		}
		ports, _ := rule["ports"].([]any)
		for j, p := range ports {
			if n, isNum := p.(json.Number); isNum {
				ports[j] = n.String()
			}
		}
	}
	return top, nil
}

// checkFields returns an error naming the first key of m not in known, and the known ones.
func checkFields(at string, m map[string]any, known []string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return unknownField(at, k, strings.Join(known, ", "))
		}
	}
	return nil
}

func unknownField(at, field, known string) error {
	if at != "" {
		at += ": "
	}
	return fmt.Errorf("%sunknown field %q (known: %s)", at, field, known)
}
