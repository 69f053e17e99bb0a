package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runAgentCmd runs the agent command in-process with args and returns what it printed.
func runAgentCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newAgentCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// Every agent flag that the local store refuses says so in `ebpfnet agent --help`, and the
// refusal names the flag and --store etcd.
func TestAgentEtcdOnlyFlagsDocumented(t *testing.T) {
	help, err := runAgentCmd(t, "--help")
	require.NoError(t, err)
	for _, name := range []string{"etcd-endpoints", "etcd-cacert", "etcd-cert", "etcd-key", "etcd-prefix",
		"node-name", "node-ttl", "pod-cidr-size", "cidr-grace"} {
		var line string
		for _, l := range strings.Split(help, "\n") {
			if strings.Contains(l, "--"+name+" ") {
				line = l
			}
		}
		assert.Contains(t, line, "--store etcd only", "help of --%s", name)
	}
	_, err = runAgentCmd(t, "--underlay-dev", "lo", "--node-name", "h1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--node-name needs --store etcd")
}

// A bad --mesh-port-range is refused with the flag named, before the agent changes anything:
// unparsable, or fewer ports than the cluster CIDR has pod CIDRs.
func TestAgentMeshPortRange(t *testing.T) {
	_, err := runAgentCmd(t, "--underlay-dev", "lo", "--mesh-port-range", "1024")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid --mesh-port-range "1024": want FIRST-LAST`)
	_, err = runAgentCmd(t, "--underlay-dev", "lo", "--pod-cidr", "10.42.1.0/24", "--mesh-port-range", "1000-1100")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mesh port range 1000-1100: fewer ports than the 256 pod CIDRs /24")
}
