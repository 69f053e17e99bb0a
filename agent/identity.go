package agent

import (
	"cmp"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// perInstanceLabels name one container rather than a group of them (the CNI plugin's container
// id, a Kubernetes pod name). They stay on the endpoint but do not pick its identity, or every
// container would get an identity of its own and the policy map would grow with the square of
// the container count (Cilium excludes such labels from identities the same way).
var perInstanceLabels = []string{"io.ebpfnet.cni.containerid", "io.kubernetes.pod.name"}

// NetworkLabel is the label key that scopes an identity to its network: identityLabels adds
// it with the network's name to the labels of an endpoint on a network other than the
// default one, so the same labels on two networks are two identities (policy is per network,
// Rancher's network resource carries it). Endpoints may not carry it; selectors may name it.
const NetworkLabel = "io.ebpfnet.network"

// identityLabels is labels without the per-instance ones, plus NetworkLabel=network unless
// network is the default one ("" or api.DefaultNetwork, so identities of the default network
// are those of before networks existed): the label set an identity stands for.
func identityLabels(labels map[string]string, network string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		if !isPerInstance(k) {
			out[k] = v
		}
	}
	if network != "" && network != api.DefaultNetwork {
		out[NetworkLabel] = network
	}
	return out
}

// policyEndpoint is endpoint e as the policy compiler sees it: its identity's labels and its
// network's name.
func policyEndpoint(e api.Endpoint) policy.Endpoint {
	return policy.Endpoint{
		Name: e.Name, Identity: e.Identity, Labels: identityLabels(e.Labels, e.Network),
		Links: e.Links, Network: cmp.Or(e.Network, api.DefaultNetwork),
	}
}

func isPerInstance(key string) bool {
	for _, p := range perInstanceLabels {
		if strings.EqualFold(key, p) {
			return true
		}
	}
	return false
}
