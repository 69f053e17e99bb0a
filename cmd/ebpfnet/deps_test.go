package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The CLI and the CNI plugin, run for every command and container, stay small and fast to
// start: neither links the etcd client (nor gRPC under it), bbolt or the BPF loader, nor the
// policy parser and compiler with what it pulls in (Kubernetes apimachinery label selectors,
// klog, YAML), whose package init alone costs milliseconds. Those belong to ebpfnet-agent
// alone; the CLI carries policy documents as the plain JSON types of package api.
func TestCLIAndCNILinkNoAgentDependencies(t *testing.T) {
	forbidden := []string{"go.etcd.io/etcd", "google.golang.org/grpc", "go.etcd.io/bbolt", "github.com/cilium/ebpf",
		"github.com/ebpfnet/ebpfnet/policy", "k8s.io/apimachinery", "k8s.io/klog", "sigs.k8s.io/yaml", "go.yaml.in/yaml"}
	for _, pkg := range []string{"github.com/ebpfnet/ebpfnet/cmd/ebpfnet", "github.com/ebpfnet/ebpfnet/cmd/ebpfnet-cni"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		deps := strings.Fields(string(out))
		require.Contains(t, deps, pkg)
		for _, dep := range deps {
			for _, f := range forbidden {
				require.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "%s links %s (through %s)", pkg, f, dep)
			}
		}
	}
}
