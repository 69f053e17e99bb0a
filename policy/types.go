package policy

import "github.com/ebpfnet/ebpfnet/api"

// Action is [api.PolicyAction]: [ActionAllow] or [ActionDeny].
type Action = api.PolicyAction

// The two actions.
const (
	ActionAllow = api.ActionAllow
	ActionDeny  = api.ActionDeny
)

// Values of [Rule.Within]. Source: the `within` enum of Rancher's networkPolicyRule.
const (
	WithinStack   = "stack"
	WithinService = "service"
	WithinLinked  = "linked"
)

// Label keys that `within: stack` and `within: service` compare, Rancher 1.6's
// container labels. [Policy.StackLabel] and [Policy.ServiceLabel] override them.
const (
	DefaultStackLabel   = "io.rancher.stack.name"
	DefaultServiceLabel = "io.rancher.stack_service.name"
)

// Policy is a network's policy, the document of [api.Policy] with its validation
// ([Policy.Validate]) and meaning: Rancher's network resource fields
// `defaultPolicyAction` and the ordered rule list. It converts to and from api.Policy
// without copying.
//
// Rules are evaluated in order; the first rule that matches a packet decides it, and
// DefaultAction decides packets no rule matches. An empty DefaultAction means allow,
// Rancher's default; [Parse] fills it in. Empty StackLabel and ServiceLabel mean
// [DefaultStackLabel] and [DefaultServiceLabel].
type Policy api.Policy

// Rule is one Rancher networkPolicyRule, [api.NetworkPolicyRule]. Exactly one endpoint condition is set:
// Within, or Between, or both From and To ([Policy.Validate] enforces it). Ports
// narrows any of them to some destination ports.
//
//   - Within "stack": source and destination both carry the stack label
//     ([DefaultStackLabel] unless [Policy.StackLabel] says otherwise) with equal
//     values. An endpoint without the label is in no stack and never matches.
//     Rancher: withinStackHandler in network-policy-manager's policy/watcher.go.
//   - Within "service": the same with the service label ([DefaultServiceLabel], whose
//     Rancher value is "stack/service"). Rancher (withinServiceHandler) also counted
//     sidekicks as part of their primary service; here that is up to the labels the
//     agent gives them.
//   - Within "linked": the source links to the destination: the destination's
//     [Endpoint.Name] is in the source's [Endpoint.Links]. One-way: it does not match
//     traffic from the destination to the source unless that one links back. Rancher:
//     service and container links, withinLinkedHandler, which likewise let only
//     replies flow back.
//   - Between: both ends match Between.Selector (empty matches every endpoint) and, if
//     Between.GroupBy is set, both carry the GroupBy label with equal values. Rancher:
//     networkPolicyRuleBetween; its groupByHandler enforced groupBy and ignored the
//     selector.
//   - From and To: the source matches From.Selector and the destination matches
//     To.Selector. Rancher: networkPolicyRuleMember, validated but never enforced by
//     Rancher.
//   - Ports: if present, the rule matches only packets whose protocol and destination
//     port are listed ("80" means 80/tcp, "53/udp"); packets of other protocols (ICMP)
//     never match it. Without ports the rule matches all traffic, any protocol.
//     Rancher's validator accepted ports only with from/to and its enforcer ignored
//     them; ebpfnet accepts and enforces them on every form.
type Rule = api.NetworkPolicyRule

// Between is Rancher's networkPolicyRuleBetween, [api.NetworkPolicyRuleBetween].
type Between = api.NetworkPolicyRuleBetween

// Selector is Rancher's networkPolicyRuleMember, [api.NetworkPolicyRuleMember]: a
// Kubernetes label selector (see [parseSelector]).
type Selector = api.NetworkPolicyRuleMember

// Endpoint is one container as the policy sees it.
//
// Identity is the datapath's security identity, the key of the compiled entries
// (cf. Cilium identities): endpoints may share one only when their Labels are equal.
// Links names the endpoints this one links to (Rancher/Docker links), used by
// `within: linked`; names that are no endpoint's are ignored. Network is the name of the
// endpoint's network, empty for a reserved identity that is on none (a peer host); endpoints
// sharing an identity share it (the agent allocates identities per network and label set).
type Endpoint struct {
	Name     string            `json:"name"`
	Identity uint32            `json:"identity"`
	Labels   map[string]string `json:"labels,omitempty"`
	Links    []string          `json:"links,omitempty"`
	Network  string            `json:"network,omitempty"`
}

// stackLabel is the label key `within: stack` compares.
func (p Policy) stackLabel() string {
	if p.StackLabel != "" {
		return p.StackLabel
	}
	return DefaultStackLabel
}

// serviceLabel is the label key `within: service` compares.
func (p Policy) serviceLabel() string {
	if p.ServiceLabel != "" {
		return p.ServiceLabel
	}
	return DefaultServiceLabel
}

// defaultAction is DefaultAction with the empty value read as allow.
func (p Policy) defaultAction() Action {
	if p.DefaultAction == "" {
		return ActionAllow
	}
	return p.DefaultAction
}

// networkDefault is the default action of traffic to an endpoint on network nw: the network's own
// (NetworkDefaults) when it has one, else the policy's; own reports which.
func (p Policy) networkDefault(nw string) (a Action, own bool) {
	if a, ok := p.NetworkDefaults[nw]; ok && a != "" {
		return a, true
	}
	return p.defaultAction(), false
}

// inNetwork reports whether rule r applies to traffic from an endpoint on network src to one
// on network dst: r names no network, or names dst and the source is on it too or on none (a
// reserved identity such as remote-node).
func inNetwork(r *Rule, src, dst string) bool {
	return r.Network == "" || (r.Network == dst && (src == dst || src == ""))
}
