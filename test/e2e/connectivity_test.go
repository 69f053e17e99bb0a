package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAllPairs: ping and a TCP transfer between every ordered pair of the 4 containers on 2
// hosts (6 same-host and cross-host pairs each way = 12), through our programs only.
func TestAllPairs(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	ctx := context.Background()
	for _, from := range c.Containers {
		for _, to := range c.Containers {
			if from == to {
				continue
			}
			ping, err := c.Bed.Ping(ctx, from.Name, to.IP, 3, 200*time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, 3, ping.Received, "ping %s -> %s", from.Name, to.Name)
			tr, err := c.Bed.TCPTransfer(ctx, from.Name, to.Name, to.IP, 5201, time.Second)
			require.NoError(t, err, "tcp %s -> %s", from.Name, to.Name)
			require.Positive(t, tr.Bytes, "tcp %s -> %s moved no data", from.Name, to.Name)
			t.Logf("%s(%s) -> %s(%s): ping 3/3, TCP %.2f Gbit/s", from.Name, from.Host.Name, to.Name, to.Host.Name, tr.Gbps)
		}
	}
}
