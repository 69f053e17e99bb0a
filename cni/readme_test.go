package cni

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The plugin's README shows the shipped example conflist as it is, and does not claim that
// port mappings are refused (they are published: TestCNIPortMappings in test/cni).
func TestREADMEMatchesPlugin(t *testing.T) {
	readme, err := os.ReadFile("../cmd/ebpfnet-cni/README.md")
	require.NoError(t, err)
	example, err := os.ReadFile("../examples/cni/10-ebpfnet.conflist")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)`examples/cni/10-ebpfnet.conflist`:\n\n```json\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "README shows examples/cni/10-ebpfnet.conflist in a json block")
	var shown, shipped any
	require.NoError(t, json.Unmarshal(m[1], &shown))
	require.NoError(t, json.Unmarshal(example, &shipped))
	require.Equal(t, shipped, shown, "README's conflist is the shipped example")

	require.NotRegexp(t, `(?i)refuses? (a non-empty list|port mappings)|port mappings? .*not available`, string(readme))
	require.Contains(t, string(readme), "## Port mappings")
}
