// Package policy is ebpfnet's network-policy model: the Rancher 1.6 API v2-beta
// `network.defaultPolicyAction` and `networkPolicyRule` objects, their file format
// (YAML or JSON), their validation, a reference evaluator ([Decide], [Explain]) and a
// compiler ([Compile]) from a policy plus the cluster's endpoints to the entries of
// the datapath's policy map.
//
// It is pure Go: no kernel, no root, no BPF. The agent loads [Compiled.Entries] into
// the BPF map; the `ebpfnet policy explain` command uses [Explain].
//
// # Sources
//
// The model and the validation rules are Rancher's: the v2-beta API resources
// `network` (defaultPolicyAction, policy) and `networkPolicyRule` (action, within,
// between, from, to, ports), and the checks of rancher/network-policy-manager
// (policy/policy.go, NetworkPolicyRule.Validate). Rancher validated every form but its
// iptables/ipset enforcer (policy/watcher.go) only acted on `within` and
// `between.groupBy`; ebpfnet enforces all of them, ports included.
//
// Selectors use the Kubernetes label-selector syntax (k8s.io/apimachinery/pkg/labels),
// as Rancher's metadata selectors did. The map layout and its lookup order (exact
// port/protocol first, then the any-port entry, then a default) follow Cilium's policy
// map (bpf/lib/policy.h: L4 entry, then L3-only entry), keyed here by the identities of
// both ends because ebpfnet has one cluster-wide map, not one per endpoint.
//
// # Evaluation
//
// A policy is an ordered list of rules and a default action. For a packet from
// endpoint src to endpoint dst with IP protocol proto and destination port port, the
// first rule whose endpoint condition holds for (src, dst) and whose ports include
// (proto, port) decides; when none does, the default action decides. A rule without
// ports covers all traffic between the two endpoints, any protocol, ICMP included.
// Rules are directional: they describe traffic from src to dst; replies of allowed
// connections are the conntrack's business, not the policy's.
package policy
