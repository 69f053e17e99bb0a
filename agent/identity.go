package agent

import "strings"

// perInstanceLabels name one container rather than a group of them (the CNI plugin's container
// id, a Kubernetes pod name). They stay on the endpoint but do not pick its identity, or every
// container would get an identity of its own and the policy map would grow with the square of
// the container count (Cilium excludes such labels from identities the same way).
var perInstanceLabels = []string{"io.ebpfnet.cni.containerid", "io.kubernetes.pod.name"}

// identityLabels is labels without the per-instance ones: the label set an identity stands for.
func identityLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !isPerInstance(k) {
			out[k] = v
		}
	}
	return out
}

func isPerInstance(key string) bool {
	for _, p := range perInstanceLabels {
		if strings.EqualFold(key, p) {
			return true
		}
	}
	return false
}
