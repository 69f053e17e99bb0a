package api

import "strings"

// PolicyAction is what a rule, or the policy's default, does with the traffic it decides:
// [ActionAllow] or [ActionDeny]. Source: the `action` enum of Rancher's networkPolicyRule
// and the `defaultPolicyAction` field of Rancher's network resource.
type PolicyAction string

// The two actions.
const (
	ActionAllow PolicyAction = "allow"
	ActionDeny  PolicyAction = "deny"
)

// Policy is a network's policy as the API carries and the store keeps it: Rancher's network
// resource fields `defaultPolicyAction` and the ordered rule list. Plain JSON: package policy
// parses the file format (YAML or JSON, Rancher's `policy` alias), validates it and gives the
// rules their meaning.
//
// Shape (YAML):
//
//	defaultPolicyAction: deny
//	rules:
//	- {within: stack, action: allow}
//	- {from: {selector: app=web}, to: {selector: app=db}, ports: ["5432/tcp"], action: allow}
//
// An empty DefaultAction means allow, Rancher's default.
type Policy struct {
	DefaultAction PolicyAction        `json:"defaultPolicyAction"`
	Rules         []NetworkPolicyRule `json:"rules"`

	// StackLabel and ServiceLabel are ebpfnet extensions: the label keys compared by
	// `within: stack` and `within: service`. Empty means Rancher's io.rancher.stack.name and
	// io.rancher.stack_service.name.
	StackLabel   string `json:"stackLabel,omitempty"`
	ServiceLabel string `json:"serviceLabel,omitempty"`

	// NetworkDefaults is each network's own defaultPolicyAction by network name (Rancher puts
	// the field on the network resource): it decides traffic to that network's endpoints that
	// no rule matches, instead of DefaultAction. Not part of the document: the agent fills it
	// from the networks (`network create --default-policy`) when it compiles the policy.
	NetworkDefaults map[string]PolicyAction `json:"-"`
}

// NetworkPolicyRule is one Rancher networkPolicyRule: Action and exactly one endpoint
// condition, Within ("stack", "service" or "linked"), or Between, or both From and To; Ports
// ("80", "53/udp") narrows any of them to some destination ports. Package policy validates
// and evaluates it (see policy.Rule).
type NetworkPolicyRule struct {
	Action  PolicyAction              `json:"action"`
	Within  string                    `json:"within,omitempty"`
	Between *NetworkPolicyRuleBetween `json:"between,omitempty"`
	From    *NetworkPolicyRuleMember  `json:"from,omitempty"`
	To      *NetworkPolicyRuleMember  `json:"to,omitempty"`
	Ports   []string                  `json:"ports,omitempty"`
	// Network, when set, scopes the rule to one network (by name, "default" for the cluster
	// network): it matches only traffic to that network's endpoints. Empty: every network.
	Network string `json:"network,omitempty"`
}

// NetworkPolicyRuleBetween is Rancher's networkPolicyRuleBetween: both ends of the traffic
// match Selector (a label selector; empty matches all) and, when GroupBy is a label key,
// carry that label with the same value. At least one of the two must be set.
type NetworkPolicyRuleBetween struct {
	Selector string `json:"selector,omitempty"`
	GroupBy  string `json:"groupBy,omitempty"`
}

// NetworkPolicyRuleMember is Rancher's networkPolicyRuleMember: a Kubernetes label selector
// such as "app=web", "tier in (db,cache),!legacy". It must not be empty (Rancher: "'from'
// needs atleast one of: [selector]").
type NetworkPolicyRuleMember struct {
	Selector string `json:"selector"`
}

// String describes the rule in one line, e.g. "deny from app=web to app=db ports
// 5432/tcp", "allow within stack", "allow between tier=db groupBy env", "allow within
// stack in network front". Ports are
// printed canonically ("80" as "80/tcp", see [ParsePolicyPorts]) when they parse, as
// written otherwise.
func (r NetworkPolicyRule) String() string {
	var b strings.Builder
	b.WriteString(string(r.Action))
	if r.Action == "" {
		b.WriteString(`""`)
	}
	if r.Within != "" {
		b.WriteString(" within " + r.Within)
	}
	if r.Between != nil {
		b.WriteString(" between ")
		if r.Between.Selector != "" {
			b.WriteString(r.Between.Selector)
		} else {
			b.WriteString("all")
		}
		if r.Between.GroupBy != "" {
			b.WriteString(" groupBy " + r.Between.GroupBy)
		}
	}
	if r.From != nil {
		b.WriteString(" from " + r.From.Selector)
	}
	if r.To != nil {
		b.WriteString(" to " + r.To.Selector)
	}
	if len(r.Ports) > 0 {
		b.WriteString(" ports ")
		if ps, err := ParsePolicyPorts(r.Ports); err == nil {
			for i, p := range ps {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(p.String())
			}
		} else {
			b.WriteString(strings.Join(r.Ports, ","))
		}
	}
	if r.Network != "" {
		b.WriteString(" in network " + r.Network)
	}
	return b.String()
}
