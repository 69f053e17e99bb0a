package wireguard_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// wgHost is one side of the test tunnel.
type wgHost struct {
	ns       string
	underlay netip.Addr
	stateDir string
	name     string
	dev      *wireguard.Device
}

// buildHelper builds cmd/ebpfnet-wireguard into dir and returns its path.
func buildHelper(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, wireguard.HelperName)
	out, err := exec.Command("go", "build", "-o", path, "../cmd/ebpfnet-wireguard").CombinedOutput()
	require.NoError(t, err, "go build %s: %s", wireguard.HelperName, out)
	return path
}

// openIn opens (creates or adopts) h's userspace device inside its namespace.
func openIn(t *testing.T, bed *testbed.Bed, h *wgHost, helper string) {
	t.Helper()
	require.NoError(t, bed.InNetns(h.ns, func() error {
		d, err := wireguard.Open(wireguard.Options{Name: h.name, Impl: wireguard.ImplUserspace, MTU: 1440, StateDir: h.stateDir, Helper: helper})
		h.dev = d
		return err
	}))
}

// TestUserspaceTunnel: two namespaces joined by a veth run a userspace device each,
// configured as each other's peer; ICMP between the underlay addresses is routed into the
// tunnel (AllowedIPs = peer underlay /32, as for the VXLAN packets of the datapath) and
// crosses it, also after the managing process "restarts" and adopts the running helpers.
func TestUserspaceTunnel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	helper := buildHelper(t, t.TempDir())
	bed, err := testbed.New(testbed.UniquePrefix("wg"))
	require.NoError(t, err)
	hosts := []*wgHost{
		{ns: "a", underlay: netip.MustParseAddr("192.168.77.1"), stateDir: t.TempDir()},
		{ns: "b", underlay: netip.MustParseAddr("192.168.77.2"), stateDir: t.TempDir()},
	}
	t.Cleanup(func() {
		for _, h := range hosts {
			if h.dev != nil {
				_ = bed.InNetns(h.ns, h.dev.Delete)
			}
			require.NoError(t, wireguard.StopHelper(h.stateDir, h.name)) // in case Delete failed
		}
		require.NoError(t, bed.Close())
	})
	for _, h := range hosts {
		_, err := bed.Netns(h.ns)
		require.NoError(t, err)
		h.name = wireguard.DeviceName(h.underlay, h.stateDir)
	}
	require.NoError(t, bed.Link("a", "ul0", netip.PrefixFrom(hosts[0].underlay, 24), "b", "ul0", netip.PrefixFrom(hosts[1].underlay, 24), 0))

	keys := make([]wireguard.Peer, len(hosts))
	for i, h := range hosts {
		openIn(t, bed, h, helper)
		require.Equal(t, wireguard.ImplUserspace, h.dev.Impl())
		require.False(t, h.dev.Adopted())
		key, err := wireguard.LoadOrCreateKey(h.stateDir)
		require.NoError(t, err)
		keys[i] = wireguard.Peer{PublicKey: key.PublicKey(), Endpoint: netip.AddrPortFrom(h.underlay, wireguard.DefaultPort)}
		require.NoError(t, h.dev.Configure(key, wireguard.DefaultPort, nil))
	}
	for i, h := range hosts {
		key, err := wireguard.LoadOrCreateKey(h.stateDir)
		require.NoError(t, err)
		require.NoError(t, h.dev.Configure(key, wireguard.DefaultPort, []wireguard.Peer{keys[1-i]}))
		// ICMP to the peer's underlay address takes the tunnel; WireGuard's own UDP keeps the
		// main table (the agent's BPF program makes this choice per packet instead).
		peer := hosts[1-i].underlay.String()
		for _, argv := range [][]string{
			{"sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"},
			{"ip", "route", "add", peer + "/32", "dev", h.name, "table", "100"},
			{"ip", "rule", "add", "ipproto", "icmp", "table", "100"},
		} {
			_, err := bed.Run(context.Background(), h.ns, argv...)
			require.NoError(t, err)
		}
	}
	ping := func(what string) {
		st, err := bed.Ping(context.Background(), "a", hosts[1].underlay, 5, 50*time.Millisecond)
		require.NoError(t, err, what)
		require.Equal(t, 5, st.Received, what)
		status, err := hosts[0].dev.Status()
		require.NoError(t, err)
		require.Len(t, status.Peers, 1)
		p := status.Peers[0]
		require.Equal(t, keys[1].PublicKey, p.PublicKey)
		require.False(t, p.LastHandshake.IsZero(), "%s: no handshake", what)
		require.Positive(t, p.RxBytes, what)
		require.Positive(t, p.TxBytes, what)
	}
	ping("first start")

	// "Restart": drop the handles, open again; the helpers must be adopted, not restarted.
	for _, h := range hosts {
		pid := h.dev.PID()
		require.NotZero(t, pid)
		require.NoError(t, h.dev.Close())
		openIn(t, bed, h, helper)
		require.True(t, h.dev.Adopted(), h.name)
		require.Equal(t, pid, h.dev.PID(), h.name)
	}
	ping("after adoption")
	// Reconfiguring with the same set keeps the session (no new handshake needed).
	key, err := wireguard.LoadOrCreateKey(hosts[0].stateDir)
	require.NoError(t, err)
	before, err := hosts[0].dev.Status()
	require.NoError(t, err)
	require.NoError(t, hosts[0].dev.Configure(key, wireguard.DefaultPort, []wireguard.Peer{keys[1]}))
	after, err := hosts[0].dev.Status()
	require.NoError(t, err)
	require.Equal(t, before.Peers[0].LastHandshake, after.Peers[0].LastHandshake)
	// Replacing the peer set exactly removes the peer; nothing crosses any more.
	require.NoError(t, hosts[0].dev.Configure(key, wireguard.DefaultPort, nil))
	st, err := hosts[0].dev.Status()
	require.NoError(t, err)
	require.Empty(t, st.Peers)
	ps, _ := bed.Ping(context.Background(), "a", hosts[1].underlay, 2, 50*time.Millisecond, "-W", "1")
	require.Zero(t, ps.Received)
}

// TestKeyFile: a key is created with mode 0600 and read back; a looser mode and malformed
// keys are refused with clear errors and the file is left alone.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := wireguard.LoadOrCreateKey(dir)
	require.NoError(t, err)
	path := filepath.Join(dir, wireguard.KeyFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	k2, err := wireguard.LoadOrCreateKey(dir)
	require.NoError(t, err)
	require.Equal(t, k1, k2)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = wireguard.LoadOrCreateKey(dir)
	require.ErrorContains(t, err, "has mode -rw-r--r--, want a regular file with mode 0600")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, k1.String()+"\n", string(b), "refused key file must stay as it was")

	require.NoError(t, os.WriteFile(path, []byte("not-a-key\n"), 0o600))
	require.NoError(t, os.Chmod(path, 0o600))
	_, err = wireguard.LoadOrCreateKey(dir)
	require.ErrorContains(t, err, `malformed WireGuard key "not-a-key"`)

	for _, bad := range []string{"", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", k1.String() + "x"} {
		_, err := wireguard.ParseKey(bad)
		require.ErrorContains(t, err, "malformed WireGuard key", bad)
	}
	pub, err := wireguard.ParseKey(k1.PublicKey().String())
	require.NoError(t, err)
	require.Equal(t, k1.PublicKey(), pub)
}

func TestParseImpl(t *testing.T) {
	for _, s := range []string{"auto", "kernel", "userspace"} {
		i, err := wireguard.ParseImpl(s)
		require.NoError(t, err)
		require.Equal(t, wireguard.Impl(s), i)
	}
	_, err := wireguard.ParseImpl("boringtun")
	require.ErrorContains(t, err, `invalid WireGuard implementation "boringtun": want auto, kernel or userspace`)
}
