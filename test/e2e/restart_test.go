package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// TestAgentRestartLosesNoPacket: both agents are killed (SIGKILL) and restarted while pings run
// same-host and cross-host; pinned maps and links keep forwarding, and the new agents swap
// their programs in without a gap, so not one echo is lost.
func TestAgentRestartLosesNoPacket(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	c1, c2, c3 := c.Containers[0], c.Containers[1], c.Containers[2]
	pings := pingInBackground(c, c1, []*testbed.Container{c2, c3}, 100, 50*time.Millisecond)
	time.Sleep(time.Second)
	restartAgents(t, c)
	for name, ch := range pings {
		r := <-ch
		require.NoError(t, r.err)
		require.Equal(t, 100, r.stats.Sent, name)
		require.Equal(t, 100, r.stats.Received, "c1 -> %s lost echoes across the agent restart", name)
	}
	// The restarted agents still serve: state came back from disk.
	out, err := c.CLI(c.Hosts[0], "endpoint", "list")
	require.NoError(t, err)
	require.Contains(t, out, c1.IP.String())
	require.Contains(t, out, c2.IP.String())
}
