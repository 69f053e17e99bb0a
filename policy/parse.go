package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Parse reads a policy file, YAML or JSON (JSON is YAML), in the shape of [Policy]:
//
//	defaultPolicyAction: deny          # allow (the default) or deny
//	rules:
//	- action: allow
//	  within: stack                    # stack, service or linked
//	- action: allow
//	  between: {groupBy: tier}         # selector and/or groupBy
//	- action: deny
//	  from: {selector: app=web}
//	  to: {selector: "app in (db,cache)"}
//	  ports: [5432/tcp, 53/udp, 80]    # numbers are read as "80", i.e. 80/tcp
//
// Unknown fields and duplicate keys are errors (a misspelt field would otherwise
// silently widen the policy). An empty defaultPolicyAction becomes allow. Parse then
// validates: on a decode error it returns the zero Policy and an error starting
// "parse policy: "; on validation errors it returns the decoded policy and
// [Policy.Validate]'s error, so callers can still show it.
func Parse(data []byte) (Policy, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Policy{}, errors.New("parse policy: empty document")
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Policy{}, fmt.Errorf("parse policy: %w", err)
	}
	js, err = portsAsStrings(js)
	if err != nil {
		return Policy{}, fmt.Errorf("parse policy: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("parse policy: %w", err)
	}
	if p.DefaultAction == "" {
		p.DefaultAction = ActionAllow
	}
	return p, p.Validate()
}

// portsAsStrings rewrites numeric entries of rules[*].ports as strings, so YAML's
// `ports: [80, 443]` reads as Rancher's `["80", "443"]`. Anything that is not the
// expected shape is left for the strict decoder to reject.
func portsAsStrings(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("empty document")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a mapping")
	}
	rules, _ := top["rules"].([]any)
	changed := false
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		ports, _ := rule["ports"].([]any)
		for i, p := range ports {
			if n, isNum := p.(json.Number); isNum {
				ports[i] = n.String()
				changed = true
			}
		}
	}
	if !changed {
		return js, nil
	}
	return json.Marshal(doc)
}
