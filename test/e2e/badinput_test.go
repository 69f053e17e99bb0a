package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// TestCLIBadInput: every malformed or conflicting request fails with a precise message and
// leaves the endpoints, ipcache and peers maps exactly as they were.
func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 1) // c1 = 10.42.1.2 on h1, c2 = 10.42.2.2 on h2
	h1 := c.Hosts[0]
	spare, err := c.Bed.Netns("spare")
	require.NoError(t, err)
	add := func(name, ip string, extra ...string) []string {
		return append([]string{"endpoint", "add", name, "--netns", spare, "--ip", ip}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed IP", add("x", "10.42.1"), `invalid IP "10.42.1": want an IPv4 address`},
		{"IPv6 IP", add("x", "fd00::2"), `invalid IP "fd00::2": want an IPv4 address`},
		{"IP outside cluster", add("x", "192.168.7.2"), "IP 192.168.7.2 is outside the cluster CIDR 10.42.0.0/16"},
		{"IP of another node", add("x", "10.42.2.9"), "IP 10.42.2.9 is outside this node's pod CIDR 10.42.1.0/24"},
		{"gateway IP", add("x", "10.42.1.1"), "IP 10.42.1.1 is reserved in 10.42.1.0/24"},
		{"broadcast IP", add("x", "10.42.1.255"), "IP 10.42.1.255 is reserved in 10.42.1.0/24"},
		{"duplicate IP", add("x", "10.42.1.2"), "IP 10.42.1.2 is already used by endpoint c1"},
		{"duplicate name", add("c1", "10.42.1.50"), "endpoint c1 already exists"},
		{"unknown netns", []string{"endpoint", "add", "x", "--netns", "/run/netns/does-not-exist", "--ip", "10.42.1.50"}, `netns "/run/netns/does-not-exist": no such file or directory`},
		{"malformed MAC", add("x", "10.42.1.50", "--mac", "02:zz:00:00:00:01"), `invalid MAC "02:zz:00:00:00:01"`},
		{"multicast MAC", add("x", "10.42.1.50", "--mac", "01:00:5e:00:00:01"), "multicast bit set"},
		{"malformed label", add("x", "10.42.1.50", "--label", "app"), `invalid label "app": want key=value`},
		{"bad name", add("bad/name", "10.42.1.50"), `invalid endpoint name "bad/name"`},
		{"delete unknown endpoint", []string{"endpoint", "del", "nope"}, "endpoint nope: not found"},
		{"malformed CIDR", []string{"peer", "add", "10.42.3.0/33", "--host", "172.31.0.3"}, `invalid peer CIDR "10.42.3.0/33"`},
		{"CIDR with host bits", []string{"peer", "add", "10.42.3.5/24", "--host", "172.31.0.3"}, "host bits set (did you mean 10.42.3.0/24?)"},
		{"CIDR outside cluster", []string{"peer", "add", "10.43.0.0/24", "--host", "172.31.0.3"}, "peer CIDR 10.43.0.0/24 is outside the cluster CIDR"},
		{"CIDR is own pod CIDR", []string{"peer", "add", "10.42.1.0/25", "--host", "172.31.0.3"}, "overlaps this node's pod CIDR 10.42.1.0/24"},
		{"conflicting peer", []string{"peer", "add", "10.42.2.128/25", "--host", "172.31.0.3"}, "overlaps existing peer 10.42.2.0/24 (via 172.31.0.2)"},
		{"malformed host IP", []string{"peer", "add", "10.42.3.0/24", "--host", "172.31.0.300"}, `invalid peer host IP "172.31.0.300"`},
		{"own underlay as peer", []string{"peer", "add", "10.42.3.0/24", "--host", "172.31.0.1"}, "is this node's own underlay IP"},
		{"unspecified peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "0.0.0.0"}, `peer host IP 0.0.0.0 is a "this network" address`},
		{"broadcast peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "255.255.255.255"}, "peer host IP 255.255.255.255 is a reserved or broadcast address"},
		{"loopback peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "127.0.0.1"}, "peer host IP 127.0.0.1 is a loopback address"},
		{"multicast peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "224.0.0.1"}, "peer host IP 224.0.0.1 is a multicast address"},
		{"link-local peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "169.254.0.7"}, "peer host IP 169.254.0.7 is a link-local address"},
		{"container address as peer host", []string{"peer", "add", "10.42.3.0/24", "--host", "10.42.2.2"}, "peer host IP 10.42.2.2 is inside the cluster CIDR 10.42.0.0/16 (a container address)"},
		{"delete unknown peer", []string{"peer", "del", "10.42.9.0/24"}, "peer 10.42.9.0/24: not found"},
		{"bad output format", []string{"endpoint", "list", "-o", "yaml"}, `invalid --output "yaml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps, ipc, peers := dumpMap(t, h1, "endpoints"), dumpMap(t, h1, "ipcache"), dumpMap(t, h1, "peers")
			out, err := c.CLI(h1, tc.args...)
			require.Error(t, err, "must fail: %s", out)
			require.Contains(t, out, tc.want)
			require.Equal(t, eps, dumpMap(t, h1, "endpoints"), "endpoints map changed")
			require.Equal(t, ipc, dumpMap(t, h1, "ipcache"), "ipcache map changed")
			require.Equal(t, peers, dumpMap(t, h1, "peers"), "peers map changed")
		})
	}
	// Nothing half-made: no veth was left in the spare netns.
	out, err := c.Bed.Run(t.Context(), "spare", "ip", "-o", "link", "show")
	require.NoError(t, err)
	require.NotContains(t, out, "eth0")
}

// TestCLIWithoutAgent: a missing agent gets a message that says so.
func TestCLIWithoutAgent(t *testing.T) {
	t.Parallel()
	h := &testbed.Host{Name: "none", Socket: filepath.Join(t.TempDir(), "missing.sock")}
	c := &testbed.Cluster{Binary: binary}
	out, err := c.CLI(h, "endpoint", "list")
	require.Error(t, err)
	require.Contains(t, out, "cannot reach the ebpfnet agent at "+h.Socket+" (is `ebpfnet agent` running?)")
}

// TestSecondAgentRefused: a second agent on the same state and pin directories refuses to
// start with a clear error, and the first keeps serving.
func TestSecondAgentRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 0)
	h := c.Hosts[0]
	out, err := c.Bed.Run(t.Context(), h.Name, c.Binary, "--socket", h.Socket+".2", "agent", "--underlay-dev", "ul0",
		"--pin-dir", h.PinDir, "--state-dir", h.StateDir)
	require.Error(t, err)
	require.Contains(t, out, "state file is locked by another ebpfnet agent")
	_, err = os.Stat(h.Socket + ".2")
	require.ErrorIs(t, err, os.ErrNotExist)

	out, err = c.Bed.Run(t.Context(), h.Name, c.Binary, "--socket", h.Socket+".3", "agent", "--underlay-dev", "ul0",
		"--pin-dir", h.PinDir, "--state-dir", h.StateDir+".other")
	require.Error(t, err)
	require.Contains(t, out, "pin directory is in use by another ebpfnet agent")
	_, err = c.CLI(h, "status")
	require.NoError(t, err, "the first agent must keep serving")
}
