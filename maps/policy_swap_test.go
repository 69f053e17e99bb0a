package maps

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/bpf"
)

// TestSwapPolicyUnchanged: swapping in the policy already in force (a resync recompiling the
// same rules) leaves the revision and the map as they were, while a changed entry or a
// changed default action swaps as before.
func TestSwapPolicyUnchanged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create BPF maps")
	}
	spec, err := bpf.LoadDatapath()
	require.NoError(t, err)
	pol, node := NewPolicy(newMap(t, spec, "policy", 1024)), NewNodeConfig(newMap(t, spec, "node_config", 0))
	require.NoError(t, node.Set(Node{UnderlayIP: netip.MustParseAddr("172.31.0.1"), Cluster: netip.MustParsePrefix("10.42.0.0/16"),
		Gateway: netip.MustParseAddr("10.42.0.1"), NATPortMin: 40000, NATPortMax: 40063, RouterMAC: net.HardwareAddr{0x0e, 0, 172, 31, 0, 1}}))
	want := []PolicyEntry{{Src: 256, Dst: 257, Proto: 6, Port: 80, Allow: true, Rule: 0}, {Src: 257, Dst: 256, Allow: false, Rule: RuleDefault}}
	deny := func(n *Node) { n.PolicyEnforce, n.PolicyDefault = true, false }
	rev := func() uint16 {
		n, err := node.Get()
		require.NoError(t, err)
		return n.PolicyRev
	}

	require.NoError(t, SwapPolicy(pol, node, want, nil, deny))
	require.Equal(t, uint16(1), rev())
	require.NoError(t, SwapPolicy(pol, node, []PolicyEntry{want[1], want[0]}, nil, deny))
	require.Equal(t, uint16(1), rev(), "the same entries and parameters: no swap")
	counts, err := pol.Counts()
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 2}, counts)

	for name, step := range map[string]func() error{
		"a changed verdict": func() error {
			return SwapPolicy(pol, node, []PolicyEntry{want[0], {Src: 257, Dst: 256, Allow: true, Rule: RuleDefault}}, nil, deny)
		},
		"an entry fewer": func() error { return SwapPolicy(pol, node, want[:1], nil, deny) },
		"default allow": func() error {
			return SwapPolicy(pol, node, want[:1], nil, func(n *Node) { n.PolicyEnforce, n.PolicyDefault = true, true })
		},
		"a commit": func() error { return SwapPolicy(pol, node, want[:1], func() error { return nil }, nil) },
	} {
		before := rev()
		require.NoError(t, step(), name)
		require.Equal(t, before+1, rev(), "%s swaps", name)
	}
}
