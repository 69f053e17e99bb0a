package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The CLI and the CNI plugin, run for every command and container, stay small and fast to
// start: neither links the etcd client (nor gRPC under it), bbolt or the BPF loader. Those
// belong to ebpfnet-agent alone.
func TestCLIAndCNILinkNoAgentDependencies(t *testing.T) {
	forbidden := []string{"go.etcd.io/etcd", "google.golang.org/grpc", "go.etcd.io/bbolt", "github.com/cilium/ebpf"}
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
