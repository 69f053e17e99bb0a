package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// maxPolicyRules is what the per-rule drop counters hold (the last slot counts
// default-action drops).
const maxPolicyRules = maps.PolicyRulesMax - 1

// policyEndpoints is what the policy compiler needs to know of the cluster: this host's
// endpoints (with their links) and one label-only stand-in for every other identity of the
// store (on the network its NetworkLabel names), plus the reserved cluster identity of sources
// without one (plain VXLAN peers) and remote-node, both on no network.
func (a *Agent) policyEndpoints(ctx context.Context) ([]policy.Endpoint, error) {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := a.store.Identities(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]policy.Endpoint, 0, len(eps)+len(ids)+1)
	local := map[uint32]bool{}
	for _, e := range eps {
		out = append(out, policyEndpoint(e))
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
		out = append(out, policy.Endpoint{Name: fmt.Sprintf("identity/%d", id), Identity: id, Labels: labels,
			Network: cmp.Or(labels[NetworkLabel], api.DefaultNetwork)})
	}
	out = append(out, policy.Endpoint{Name: "identity/cluster", Identity: IdentityCluster},
		policy.Endpoint{Name: "identity/remote-node", Identity: IdentityRemoteNode, Labels: map[string]string{ReservedLabel: "remote-node"}})
	return out, nil
}

// withNetworks checks that every rule of p names a known network and fills p.NetworkDefaults
// from the networks' defaultPolicyAction; an unknown network is api.ErrInvalid naming the
// rule and the networks.
func (a *Agent) withNetworks(ctx context.Context, p *policy.Policy) error {
	all, err := a.networks(ctx)
	if err != nil {
		return err
	}
	p.NetworkDefaults = map[string]policy.Action{}
	names := make([]string, len(all))
	for i, n := range all {
		names[i] = n.Name
		if n.DefaultPolicy != "" {
			p.NetworkDefaults[n.Name] = n.DefaultPolicy
		}
	}
	for i, r := range p.Rules {
		if r.Network != "" && !slices.Contains(names, r.Network) {
			return invalid("invalid policy: rules[%d].network: unknown network %q (networks: %s)", i, r.Network, abbrevList(names, 10))
		}
	}
	return nil
}

// checkNetworkUnused refuses (api.ErrConflict) removing network name while policy rules name
// it: they would be left naming no network.
func (a *Agent) checkNetworkUnused(ctx context.Context, name string) error {
	p, err := a.store.Policy(ctx)
	if err != nil {
		return err
	}
	var rules []string
	for i, r := range p.Rules {
		if r.Network == name {
			rules = append(rules, strconv.Itoa(i))
		}
	}
	if len(rules) > 0 {
		return conflict("network %s is named by policy rules %s: delete them first (ebpfnet policy delete N)", name, abbrevList(rules, 5))
	}
	return nil
}

// compilePolicy compiles p over the cluster's identities and networks.
func (a *Agent) compilePolicy(ctx context.Context, p policy.Policy) (policy.Compiled, error) {
	if err := a.withNetworks(ctx, &p); err != nil {
		return policy.Compiled{}, err
	}
	eps, err := a.policyEndpoints(ctx)
	if err != nil {
		return policy.Compiled{}, err
	}
	c, err := policy.Compile(p, eps)
	var amb *policy.AmbiguityError
	if errors.As(err, &amb) || len(policy.FieldErrors(err)) > 0 {
		return c, invalid("policy: %v", err)
	}
	return c, err
}

// syncPolicy enforces the stored policy (see enforcePolicy). Callers hold a.mu.
func (a *Agent) syncPolicy(ctx context.Context) error {
	p, err := a.store.Policy(ctx)
	if err != nil {
		return err
	}
	return a.enforcePolicy(ctx, p, nil)
}

// enforcePolicy compiles p and swaps it into the policy map atomically (maps.SwapPolicy):
// the new entries are written beside those in force, commit runs (nil: nothing), then one
// node_config write flips to them with p's default action, and the old entries go. A policy
// that does not fit beside the one in force is refused with the numbers before commit runs,
// so the store never holds a policy the map does not. Callers hold a.mu.
func (a *Agent) enforcePolicy(ctx context.Context, p policy.Policy, commit func() error) error {
	c, err := a.compilePolicy(ctx, p)
	if err != nil {
		return err
	}
	err = maps.SwapPolicy(a.maps.Policy, a.maps.Node, maps.PolicyEntriesOf(c), commit, func(n *maps.Node) {
		n.PolicyDefault = c.Default == policy.VerdictAllow
		n.PolicyEnforce = len(p.Rules) > 0 || len(c.Entries) > 0 || !n.PolicyDefault
	})
	if errors.Is(err, maps.ErrFull) {
		return full("policy not applied: %v", err)
	}
	if err == nil {
		a.mon.stale.Store(true)
	}
	return err
}

// notePolicySync records the outcome of enforcing the stored policy where no caller can be
// told (restart, store watch): the policy in force stays and `policy list` shows why. Callers
// hold a.mu.
func (a *Agent) notePolicySync(err error) {
	if err != nil && (a.policyErr == nil || a.policyErr.Error() != err.Error()) {
		a.log.Error("stored policy not enforced; the previous one stays in force", "err", err)
	}
	a.policyErr = err
}

// resetPolicyDrops zeroes the drop counters of every rule whose meaning changed from old to
// updated (a different rule at that index, or none any more), and the default action's when
// it changed, so counts never carry over to another rule by position.
func (a *Agent) resetPolicyDrops(old, updated policy.Policy) error {
	for i := range max(len(old.Rules), len(updated.Rules)) {
		if i < len(old.Rules) && i < len(updated.Rules) && reflect.DeepEqual(old.Rules[i], updated.Rules[i]) {
			continue
		}
		if err := a.maps.PolicyDrops.Reset(i); err != nil {
			return err
		}
	}
	if old.DefaultAction == updated.DefaultAction {
		return nil
	}
	return a.maps.PolicyDrops.Reset(a.maps.PolicyDrops.DefaultRuleSlot())
}

// changePolicy applies edit to the stored policy, validates and compiles the result, and only
// when it fits the policy map stores and enforces it: a bad change leaves policy and maps as
// they were.
func (a *Agent) changePolicy(ctx context.Context, edit func(*policy.Policy) error) (policy.Policy, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, err := a.store.Policy(ctx)
	if err != nil {
		return old, err
	}
	p := old
	p.Rules = slices.Clone(p.Rules)
	if err := edit(&p); err != nil {
		return p, err
	}
	if p.DefaultAction == "" {
		p.DefaultAction = policy.ActionAllow
	}
	if old.DefaultAction == "" {
		old.DefaultAction = policy.ActionAllow
	}
	if err := p.Validate(); err != nil {
		return p, invalid("invalid policy: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if len(p.Rules) > maxPolicyRules {
		return p, invalid("policy has %d rules, at most %d are supported", len(p.Rules), maxPolicyRules)
	}
	if err := a.enforcePolicy(ctx, p, func() error { return a.store.PutPolicy(ctx, p) }); err != nil {
		return p, err
	}
	a.policyErr = nil
	a.log.Info("policy changed", "default", p.DefaultAction, "rules", len(p.Rules))
	return p, a.resetPolicyDrops(old, p)
}

// ApplyPolicy replaces the whole policy with the YAML or JSON document data, all or nothing.
func (a *Agent) ApplyPolicy(ctx context.Context, data []byte) (policy.Policy, error) {
	parsed, err := policy.Parse(data)
	if err != nil {
		return parsed, invalid("invalid policy: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return a.changePolicy(ctx, func(p *policy.Policy) error { *p = parsed; return nil })
}

// AddPolicyRule appends rule (evaluated after the existing rules).
func (a *Agent) AddPolicyRule(ctx context.Context, rule policy.Rule) (policy.Policy, error) {
	return a.changePolicy(ctx, func(p *policy.Policy) error { p.Rules = append(p.Rules, rule); return nil })
}

// DeletePolicyRule removes rule n (as numbered by `policy list`); later rules move up.
func (a *Agent) DeletePolicyRule(ctx context.Context, n int) (policy.Policy, error) {
	return a.changePolicy(ctx, func(p *policy.Policy) error {
		if n < 0 || n >= len(p.Rules) {
			return notFound("policy rule %d: the policy has %d rules (0-%d)", n, len(p.Rules), len(p.Rules)-1)
		}
		p.Rules = slices.Delete(p.Rules, n, n+1)
		return nil
	})
}

// SetPolicyDefault sets the default action ("allow" or "deny").
func (a *Agent) SetPolicyDefault(ctx context.Context, action string) (policy.Policy, error) {
	return a.changePolicy(ctx, func(p *policy.Policy) error {
		p.DefaultAction = policy.Action(action)
		return nil
	})
}

// PolicyState reports the policy with this host's per-rule drop counts.
func (a *Agent) PolicyState(ctx context.Context) (api.PolicyState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.store.Policy(ctx)
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
	if a.policyErr != nil {
		st.SyncError = a.policyErr.Error()
	}
	if st.Entries, err = a.maps.Policy.Len(); err != nil {
		return st, err
	}
	n, err := a.maps.Node.Get()
	st.Enforced = n.PolicyEnforce
	return st, err
}

// findClusterEndpoint finds an endpoint by name: this host's first, else the one endpoint of
// that name on another node.
func (a *Agent) findClusterEndpoint(ctx context.Context, name string) (api.Endpoint, error) {
	if ep, err := a.findEndpoint(ctx, name); err == nil {
		return ep, nil
	}
	eps, err := a.store.ClusterEndpoints(ctx)
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
	return api.Endpoint{}, invalid("endpoint name %s is used on %d nodes; explain it from the node that runs it", name, len(found))
}

// ExplainPolicy says which rule decides traffic from endpoint from to endpoint to (names of
// endpoints of any node) on port ("5432/tcp", "53/udp"; empty: ICMP), and why.
func (a *Agent) ExplainPolicy(ctx context.Context, from, to, port string) (api.Explanation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := a.store.Policy(ctx)
	if err != nil {
		return api.Explanation{}, err
	}
	src, err := a.findClusterEndpoint(ctx, from)
	if err != nil {
		return api.Explanation{}, err
	}
	dst, err := a.findClusterEndpoint(ctx, to)
	if err != nil {
		return api.Explanation{}, err
	}
	proto, num := policy.ProtoICMP, uint16(0)
	if port != "" {
		pp, err := api.ParsePolicyPort(port)
		if err != nil {
			return api.Explanation{}, invalid("port %q: %v", port, err)
		}
		proto, num = pp.Proto, pp.Port
	}
	if err := a.withNetworks(ctx, &p); err != nil {
		return api.Explanation{}, err
	}
	se, de := policyEndpoint(src), policyEndpoint(dst)
	v, rule := policy.Decide(p, se, de, proto, num)
	return api.Explanation{Verdict: v.String(), Rule: rule, Text: policy.Explain(p, se, de, proto, num)}, nil
}
