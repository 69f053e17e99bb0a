package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKernelVXLANInterop: h1 runs ebpfnet; h2 runs no ebpfnet at all, only a plain kernel VXLAN
// device (VNI 1042, UDP 4789, static FDB and neighbour entries, Rancher's 0e:00:<IP> VTEP MACs)
// whose own address 10.42.2.2 plays the remote container. Ping and TCP both ways prove our
// packets are standard VXLAN.
func TestKernelVXLANInterop(t *testing.T) {
	t.Parallel()
	c := buildCluster(t, clusterSpec{hosts: 2, bare: true})
	bed := c.Bed
	h1, h2 := c.Hosts[0], c.Hosts[1]
	require.NoError(t, c.StartAgent(h1))
	_, err := c.CLI(h1, "peer", "add", h2.PodCIDR.String(), "--host", h2.UnderlayIP.String(), "--plain-vxlan")
	require.NoError(t, err)
	c1, err := c.AddContainer(h1, "c1", netip.MustParseAddr("10.42.1.2"))
	require.NoError(t, err)

	ctx := context.Background()
	kernelIP := netip.MustParseAddr("10.42.2.2")
	vtep := func(ip netip.Addr) string {
		b := ip.As4()
		return fmt.Sprintf("0e:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
	}
	for _, cmd := range [][]string{
		{"ip", "link", "add", "vx0", "type", "vxlan", "id", "1042", "dstport", "4789", "local", h2.UnderlayIP.String(), "dev", "ul0", "nolearning"},
		{"ip", "link", "set", "vx0", "address", vtep(h2.UnderlayIP), "mtu", "1450", "up"},
		{"ip", "addr", "add", kernelIP.String() + "/24", "dev", "vx0"},
		{"ip", "route", "add", h1.PodCIDR.String(), "dev", "vx0"},
		{"ip", "neigh", "add", c1.IP.String(), "lladdr", vtep(h1.UnderlayIP), "dev", "vx0", "nud", "permanent"},
		{"bridge", "fdb", "add", vtep(h1.UnderlayIP), "dev", "vx0", "dst", h1.UnderlayIP.String(), "self", "permanent"},
	} {
		_, err := bed.Run(ctx, h2.Name, cmd...)
		require.NoError(t, err)
	}

	ping, err := bed.Ping(ctx, c1.Name, kernelIP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, ping.Received, "ebpfnet container -> kernel VXLAN host")
	ping, err = bed.Ping(ctx, h2.Name, c1.IP, 3, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, ping.Received, "kernel VXLAN host -> ebpfnet container")

	tr, err := bed.TCPTransfer(ctx, c1.Name, h2.Name, kernelIP, 5201, time.Second)
	require.NoError(t, err)
	require.Positive(t, tr.Bytes)
	back, err := bed.TCPTransfer(ctx, h2.Name, c1.Name, c1.IP, 5202, time.Second)
	require.NoError(t, err)
	require.Positive(t, back.Bytes)
	t.Logf("TCP ebpfnet->kernel %.2f Gbit/s, kernel->ebpfnet %.2f Gbit/s", tr.Gbps, back.Gbps)

	require.Positive(t, counter(t, c, h1, "forward_encap"))
	require.Positive(t, counter(t, c, h1, "forward_decap"))
}
