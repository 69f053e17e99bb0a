package agent

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// maxPolicyRules is what the per-rule drop counters hold (POLICY_RULES_MAX - 1 in
// bpf/lib/policy.h; the last slot counts default-action drops).
const maxPolicyRules = 1023

// policyEndpoints is what the policy compiler needs to know of the cluster: this host's
// endpoints (with their links) and one label-only stand-in for every other identity of the
// store, plus the reserved cluster identity of sources without one (plain VXLAN peers).
func (a *Agent) policyEndpoints() ([]policy.Endpoint, error) {
	eps, err := a.store.Endpoints()
	if err != nil {
		return nil, err
	}
	ids, err := a.store.Identities()
	if err != nil {
		return nil, err
	}
	out := make([]policy.Endpoint, 0, len(eps)+len(ids)+1)
	local := map[uint32]bool{}
	for _, e := range eps {
		out = append(out, policy.Endpoint{Name: e.Name, Identity: e.Identity, Labels: identityLabels(e.Labels), Links: e.Links})
		local[e.Identity] = true
	}
	for key, id := range ids {
		if local[id] {
			continue
		}
		labels, err := labelsOf(key)
		if err != nil {
			return nil, err
		}
		out = append(out, policy.Endpoint{Name: fmt.Sprintf("identity/%d", id), Identity: id, Labels: labels})
	}
	out = append(out, policy.Endpoint{Name: "identity/cluster", Identity: IdentityCluster})
	return out, nil
}

// compilePolicy compiles p over the cluster's identities.
func (a *Agent) compilePolicy(p policy.Policy) (policy.Compiled, error) {
	eps, err := a.policyEndpoints()
	if err != nil {
		return policy.Compiled{}, err
	}
	c, err := policy.Compile(p, eps)
	var amb *policy.AmbiguityError
	if errors.As(err, &amb) || len(policy.FieldErrors(err)) > 0 {
		return c, badRequest("policy: %v", err)
	}
	return c, err
}

// syncPolicy compiles the stored policy into the policy map and switches enforcement on when
// there is anything to enforce. Callers hold a.mu.
func (a *Agent) syncPolicy() error {
	p, err := a.store.Policy()
	if err != nil {
		return err
	}
	c, err := a.compilePolicy(p)
	if err != nil {
		return err
	}
	entries := make([]maps.PolicyEntry, len(c.Entries))
	for i, e := range c.Entries {
		rule := uint16(e.Rule)
		if e.Rule < 0 {
			rule = maps.RuleDefault
		}
		entries[i] = maps.PolicyEntry{Src: e.Src, Dst: e.Dst, Proto: e.Proto, Port: e.Port, Allow: e.Verdict == policy.VerdictAllow, Rule: rule}
	}
	if err := a.maps.Policy.Sync(entries); err != nil {
		if errors.Is(err, maps.ErrFull) {
			return insufficientStorage("policy compiles to %d entries: %v", len(entries), err)
		}
		return err
	}
	n, err := a.maps.Node.Get()
	if err != nil {
		return err
	}
	a.mon.stale.Store(true)
	n.PolicyDefault = c.Default == policy.VerdictAllow
	n.PolicyEnforce = len(p.Rules) > 0 || !n.PolicyDefault
	return a.maps.Node.Set(n)
}

// changePolicy applies edit to the stored policy, validates and compiles the result, and only
// then stores and enforces it: a bad change leaves policy and maps as they were.
func (a *Agent) changePolicy(edit func(*policy.Policy) error) (policy.Policy, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.store.Policy()
	if err != nil {
		return p, err
	}
	p.Rules = slices.Clone(p.Rules)
	if err := edit(&p); err != nil {
		return p, err
	}
	if p.DefaultAction == "" {
		p.DefaultAction = policy.ActionAllow
	}
	if err := p.Validate(); err != nil {
		return p, badRequest("invalid policy: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(p.Rules) > maxPolicyRules {
		return p, badRequest("policy has %d rules, at most %d are supported", len(p.Rules), maxPolicyRules)
	}
	if _, err := a.compilePolicy(p); err != nil {
		return p, err
	}
	if err := a.store.PutPolicy(p); err != nil {
		return p, err
	}
	a.log.Info("policy changed", "default", p.DefaultAction, "rules", len(p.Rules))
	return p, a.syncPolicy()
}

// ApplyPolicy replaces the whole policy with the YAML or JSON document data, all or nothing.
func (a *Agent) ApplyPolicy(data []byte) (policy.Policy, error) {
	parsed, err := policy.Parse(data)
	if err != nil {
		return parsed, badRequest("invalid policy: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return a.changePolicy(func(p *policy.Policy) error { *p = parsed; return nil })
}

// AddPolicyRule appends rule (evaluated after the existing rules).
func (a *Agent) AddPolicyRule(rule policy.Rule) (policy.Policy, error) {
	return a.changePolicy(func(p *policy.Policy) error { p.Rules = append(p.Rules, rule); return nil })
}

// DeletePolicyRule removes rule n (as numbered by `policy list`); later rules move up.
func (a *Agent) DeletePolicyRule(n int) (policy.Policy, error) {
	return a.changePolicy(func(p *policy.Policy) error {
		if n < 0 || n >= len(p.Rules) {
			return notFound("policy rule %d: the policy has %d rules (0-%d)", n, len(p.Rules), len(p.Rules)-1)
		}
		p.Rules = slices.Delete(p.Rules, n, n+1)
		return nil
	})
}

// SetPolicyDefault sets the default action ("allow" or "deny").
func (a *Agent) SetPolicyDefault(action string) (policy.Policy, error) {
	return a.changePolicy(func(p *policy.Policy) error {
		p.DefaultAction = policy.Action(action)
		return nil
	})
}

// PolicyState reports the policy with this host's per-rule drop counts.
func (a *Agent) PolicyState() (api.PolicyState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.store.Policy()
	if err != nil {
		return api.PolicyState{}, err
	}
	st := api.PolicyState{DefaultAction: p.DefaultAction}
	if st.DefaultAction == "" {
		st.DefaultAction = policy.ActionAllow
	}
	for i, r := range p.Rules {
		c, err := a.maps.PolicyDrops.Read(i)
		if err != nil {
			return st, err
		}
		st.Rules = append(st.Rules, api.PolicyRule{Index: i, Rule: r, Text: r.String(), Dropped: c.Packets})
	}
	c, err := a.maps.PolicyDrops.Read(a.maps.PolicyDrops.DefaultRuleSlot())
	if err != nil {
		return st, err
	}
	st.DefaultDropped = c.Packets
	if st.Entries, err = a.maps.Policy.Len(); err != nil {
		return st, err
	}
	n, err := a.maps.Node.Get()
	st.Enforced = n.PolicyEnforce
	return st, err
}

// findClusterEndpoint finds an endpoint by name: this host's first, else the one endpoint of
// that name on another node.
func (a *Agent) findClusterEndpoint(name string) (api.Endpoint, error) {
	if ep, err := a.findEndpoint(name); err == nil {
		return ep, nil
	}
	eps, err := a.store.ClusterEndpoints()
	if err != nil {
		return api.Endpoint{}, err
	}
	var found []api.Endpoint
	for _, e := range eps {
		if e.Name == name {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return api.Endpoint{}, notFound("endpoint %s: not found on any node", name)
	case 1:
		return found[0], nil
	}
	return api.Endpoint{}, badRequest("endpoint name %s is used on %d nodes; explain it from the node that runs it", name, len(found))
}

// ExplainPolicy says which rule decides traffic from endpoint from to endpoint to (names of
// endpoints of any node) on port ("5432/tcp", "53/udp"; empty: ICMP), and why.
func (a *Agent) ExplainPolicy(from, to, port string) (api.Explanation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.store.Policy()
	if err != nil {
		return api.Explanation{}, err
	}
	src, err := a.findClusterEndpoint(from)
	if err != nil {
		return api.Explanation{}, err
	}
	dst, err := a.findClusterEndpoint(to)
	if err != nil {
		return api.Explanation{}, err
	}
	proto, num := maps.ProtoICMP, uint16(0)
	if port != "" {
		pp, err := policy.ParsePort(port)
		if err != nil {
			return api.Explanation{}, badRequest("port %q: %v", port, err)
		}
		proto, num = pp.Proto, pp.Port
	}
	se := policy.Endpoint{Name: src.Name, Identity: src.Identity, Labels: identityLabels(src.Labels), Links: src.Links}
	de := policy.Endpoint{Name: dst.Name, Identity: dst.Identity, Labels: identityLabels(dst.Labels), Links: dst.Links}
	v, rule := policy.Decide(p, se, de, proto, num)
	return api.Explanation{Verdict: v.String(), Rule: rule, Text: policy.Explain(p, se, de, proto, num)}, nil
}
