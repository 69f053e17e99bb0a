package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// Parse reads a policy file, YAML or JSON (JSON is YAML), in the shape of [Policy] or of
// Rancher 1.6's `network` resource as its API returns it (the list is then called `policy`,
// and the resource's other fields, such as name, subnets and links, are ignored):
//
//	defaultPolicyAction: deny          # allow (the default) or deny
//	rules:                             # or policy:, Rancher's name
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
// silently widen the policy); the error names the field, where it is and the known
// fields. An empty defaultPolicyAction becomes allow. Parse then
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
	js, err = normalizeJSON(js)
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

// normalizeJSON decodes js (numbers kept as written), [normalize]s it and encodes it again.
func normalizeJSON(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("empty document")
	}
	top, err := normalize(doc)
	if err != nil {
		return nil, err
	}
	return json.Marshal(top)
}
