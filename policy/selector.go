package policy

import (
	"k8s.io/apimachinery/pkg/labels"
)

// parseSelector parses a Kubernetes label selector with labels.Parse: `key=value`
// (also `key==value`), `key!=value`, `key in (a,b)`, `key notin (a)`, `key` (has the
// label), `!key` (lacks it), `key gt 3`/`key lt 3` (as `key>3`, `key<3`); commas AND
// the requirements. `!=` and `notin` also match endpoints that lack the key, as in
// Kubernetes. Keys and values must be valid Kubernetes label keys and values (so a
// value cannot contain "/"). The empty string selects every endpoint.
func parseSelector(s string) (labels.Selector, error) {
	return labels.Parse(s)
}

// labelsString renders a label set sorted by key, "app=web,tier=db"; "{}" when empty.
func labelsString(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	return labels.Set(m).String()
}
