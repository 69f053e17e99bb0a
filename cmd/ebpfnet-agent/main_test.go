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
