package e2e

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// requireDeniedAcross sends UDP datagrams of a flow the default-deny policy denies (c1 -> c2,
// same host) back to back, about one every 200 µs, while replace swaps h1's agent, and
// requires that not one reached c2 and that they were counted as drop_policy.
func requireDeniedAcross(t *testing.T, c *testbed.Cluster, replace func(h *testbed.Host)) {
	t.Helper()
	h, c1, c2 := c.Hosts[0], c.Containers[0], c.Containers[1]
	policyCLI(t, c, h, "default", "deny")
	dst := netip.AddrPortFrom(c2.IP, 9300)
	srv, received := udpCounter(t, c, c2, dst.Port())
	cli, err := c.Bed.DialUDP(c1.Name, netip.AddrPortFrom(c1.IP, 9301), dst)
	require.NoError(t, err)
	defer cli.Close()
	var sent atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := cli.Write([]byte("denied")); err == nil {
				sent.Add(1)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	time.Sleep(time.Second)
	replace(h)
	time.Sleep(time.Second)
	close(stop)
	<-done
	time.Sleep(200 * time.Millisecond) // let datagrams in flight arrive before counting
	srv.Close()
	t.Logf("denied c1 -> c2: %d of %d UDP datagrams got through the agent swap", received.Load(), sent.Load())
	require.Greater(t, sent.Load(), int64(1000))
	require.Zero(t, received.Load(), "a denied flow got through while the agent was replaced")
	require.GreaterOrEqual(t, counter(t, c, h, "drop_policy"), uint64(1000))
	require.Contains(t, policyText(t, c, h), "deny", "the stored policy is in force after the swap")
}

// TestPolicyHoldsAcrossRestart: with default deny, the agent is stopped (SIGTERM), started,
// killed (SIGKILL) and started again while a denied flow is probed: the policy in force stays
// enforced at every moment (agent start keeps node_config's policy fields until reconcile).
func TestPolicyHoldsAcrossRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 2)
	requireDeniedAcross(t, c, func(h *testbed.Host) {
		require.NoError(t, h.Agent.Stop())
		h.Agent = nil
		require.NoError(t, c.StartAgent(h))
		require.NoError(t, c.KillAgent(h))
		require.NoError(t, c.StartAgent(h))
	})
}

// TestPolicyHoldsAcrossUpgrade: the same with the previous release's agent replaced by this
// build's, whose node_config of another layout is replaced with the policy fields carried.
func TestPolicyHoldsAcrossUpgrade(t *testing.T) {
	t.Parallel()
	c := buildCluster(t, clusterSpec{hosts: 1, perHost: 2, binary: buildRelease(t, previousRelease)})
	requireDeniedAcross(t, c, func(h *testbed.Host) {
		require.NoError(t, h.Agent.Stop())
		h.Agent = nil
		c.Binary = binary
		require.NoError(t, c.StartAgent(h))
	})
}
