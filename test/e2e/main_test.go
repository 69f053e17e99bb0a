// Package e2e runs ebpfnet end to end: real agents in network namespaces acting as hosts,
// containers in their own namespaces, and real packets (ping, TCP, UDP) between them.
package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// binary is the ebpfnet CLI built once for the whole package, ebpfnet-agent beside it.
var binary string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: skipped, needs root")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "ebpfnet-e2e-bin-")
	if err != nil {
		panic(err)
	}
	if binary, err = testbed.BuildCLI(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildEbpfnet builds the single ebpfnet binary (the CLI with the agent inside) of a release
// from before the CLI/agent split, from the module source tree holding srcDir into out
// (TestUpgradeFromPreviousRelease). This build's binaries come from testbed.BuildCLI.
func buildEbpfnet(srcDir, out string) error {
	cmd := exec.Command("go", "build", "-o", out, "github.com/ebpfnet/ebpfnet/cmd/ebpfnet")
	cmd.Dir = srcDir
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build ebpfnet in %s: %w\n%s", srcDir, err, o)
	}
	return nil
}

// suiteAgentArgs are flags every agent of the suite starts with: EBPFNET_E2E_ENCRYPTION=wireguard
// runs the whole suite (connectivity, policy, NAT, published ports, attacks) encrypted.
func suiteAgentArgs() []string {
	if e := os.Getenv("EBPFNET_E2E_ENCRYPTION"); e != "" {
		return []string{"--encryption", e}
	}
	return nil
}

// suiteEncrypted reports whether the suite runs with encryption (EBPFNET_E2E_ENCRYPTION).
func suiteEncrypted() bool { return len(suiteAgentArgs()) > 0 }

// forgedHostReason is the drop reason of plaintext VXLAN that forges a cluster host's outer
// source: with suite encryption that host has a key, so drop_unencrypted decides first.
func forgedHostReason() string {
	if suiteEncrypted() {
		return "drop_unencrypted"
	}
	return "drop_spoofed_source"
}

// clusterSpec shapes a test cluster: hosts h1..hN, perHost containers per host named c1, c2,
// ... (host i's container k has 10.42.i.(k+1)), an underlay switch with an outside machine
// "out" at outsideIP, and agent flags. bare: no agents, peers or containers.
type clusterSpec struct {
	hosts, perHost int
	outside        bool
	bare           bool
	agentArgs      []string
	binary         string // ebpfnet binary of the agents and CLI; "" = this build's
}

// buildCluster builds spec with running agents and a full peer mesh; everything is removed at
// cleanup, also on failure (agent logs are printed then).
func buildCluster(t *testing.T, spec clusterSpec) *testbed.Cluster {
	t.Helper()
	bed, err := testbed.New(testbed.UniquePrefix("e"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bed.Close()) })
	build := testbed.NewCluster
	if spec.outside {
		build = testbed.NewSwitchedCluster
	}
	bin := binary
	if spec.binary != "" {
		bin = spec.binary
	}
	c, err := build(bed, bin, spec.hosts)
	require.NoError(t, err)
	c.AgentArgs = suiteAgentArgs()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.AgentLogs())
		}
		require.NoError(t, c.Close())
	})
	if spec.outside {
		require.NoError(t, c.AddOutside("out", outsideIP))
	}
	if spec.bare {
		return c
	}
	for _, h := range c.Hosts {
		require.NoError(t, c.StartAgent(h, spec.agentArgs...))
	}
	require.NoError(t, c.MeshPeers())
	n := 0
	for i, h := range c.Hosts {
		for k := 1; k <= spec.perHost; k++ {
			n++
			ip := netip.AddrFrom4([4]byte{10, 42, byte(i + 1), byte(k + 1)})
			_, err := c.AddContainer(h, fmt.Sprintf("c%d", n), ip)
			require.NoError(t, err)
		}
	}
	return c
}

// newCluster is buildCluster of hosts x perHost on a plain underlay.
func newCluster(t *testing.T, hosts, perHost int, agentArgs ...string) *testbed.Cluster {
	t.Helper()
	return buildCluster(t, clusterSpec{hosts: hosts, perHost: perHost, agentArgs: agentArgs})
}
