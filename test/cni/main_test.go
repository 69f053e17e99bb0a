// Package cni tests the ebpfnet CNI plugin end to end: real agents in network namespaces acting
// as hosts, the real cnitool and host-local IPAM plugin, containers in their own namespaces and
// real packets between them.
package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/cni"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// Tools built once for the package: the CLI (ebpfnet-agent beside it), the plugin dir (CNI_PATH: ebpfnet-cni and
// host-local) and cnitool.
var (
	agentBin  string
	pluginDir string
	plugin    string
	cnitool   string
)

// Versions of the upstream tools, as CI installs them.
const (
	cnitoolPkg   = "github.com/containernetworking/cni/cnitool@v1.3.1"
	hostLocalPkg = "github.com/containernetworking/plugins/plugins/ipam/host-local@v1.9.1"
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("test/cni: skipped, needs root")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "ebpfnet-cni-e2e-bin-")
	if err != nil {
		panic(err)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build puts ebpfnet and ebpfnet-agent in dir, ebpfnet-cni and host-local in dir/plugins, cnitool in dir/tools.
func build(dir string) error {
	pluginDir = filepath.Join(dir, "plugins")
	plugin = filepath.Join(pluginDir, "ebpfnet-cni")
	cnitool = filepath.Join(dir, "tools", "cnitool")
	steps := []struct {
		gobin string
		args  []string
	}{
		{"", []string{"build", "-o", plugin, "github.com/ebpfnet/ebpfnet/cmd/ebpfnet-cni"}},
		{filepath.Dir(cnitool), []string{"install", cnitoolPkg}},
		{pluginDir, []string{"install", hostLocalPkg}},
	}
	var err error
	if agentBin, err = testbed.BuildCLI(context.Background(), dir); err != nil {
		return err
	}
	for _, s := range steps {
		cmd := exec.Command("go", s.args...)
		cmd.Env = os.Environ()
		if s.gobin != "" {
			cmd.Env = append(cmd.Env, "GOBIN="+s.gobin)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(s.args, " "), err, out)
		}
	}
	return nil
}

// netName is the network name of the shipped example conflist, used by every test.
const netName = "ebpfnet"

// env is a cluster with running agents, full peer mesh, and per host a conflist (the shipped
// example pointed at that host's agent socket and an IPAM data dir of its own) and a cnitool
// result cache of its own.
type env struct {
	*testbed.Cluster
	t *testing.T
}

// newEnv builds hosts h1..hN with agents (static peers) and conflists; keys in override replace
// those of the example's plugin entry (the ipam dataDir is always set per host). Everything is
// removed at cleanup, also on failure.
func newEnv(t *testing.T, hosts int, override map[string]any) *env {
	t.Helper()
	e := newBareEnv(t, hosts)
	for _, h := range e.Hosts {
		require.NoError(t, e.StartAgent(h))
	}
	require.NoError(t, e.MeshPeers())
	e.writeConflists(override)
	return e
}

// newEtcdEnv is newEnv with the agents on a shared etcd store (in the switch netns) instead of
// static peers: pod CIDRs are allocated by the store, no `peer add` anywhere.
func newEtcdEnv(t *testing.T, hosts int) *env {
	t.Helper()
	if _, err := testbed.EtcdBinary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	e := newBareEnv(t, hosts)
	etcd, err := e.StartEtcd(netip.MustParseAddr("172.31.0.254"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, etcd.Close()) })
	for _, h := range e.Hosts {
		h.PodCIDR = netip.Prefix{}
		require.NoError(t, e.StartAgent(h, "--store", "etcd", "--etcd-endpoints", etcd.URL(), "--node-name", h.Name))
		out, err := e.CLI(h, "status", "-o", "json")
		require.NoError(t, err)
		var st api.Status
		require.NoError(t, json.Unmarshal([]byte(out), &st))
		h.PodCIDR = st.Node.PodCIDR // allocated by the store
	}
	e.writeConflists(nil)
	return e
}

// newBareEnv builds the hosts, without agents.
func newBareEnv(t *testing.T, hosts int) *env {
	t.Helper()
	bed, err := testbed.New(testbed.UniquePrefix("cni"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, bed.Close()) })
	c, err := testbed.NewCluster(bed, agentBin, hosts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.AgentLogs())
		}
		require.NoError(t, c.Close())
	})
	return &env{Cluster: c, t: t}
}

// writeConflists writes every host's conflist (see conflist).
func (e *env) writeConflists(override map[string]any) {
	for _, h := range e.Hosts {
		require.NoError(e.t, os.MkdirAll(e.confDir(h), 0o755))
		require.NoError(e.t, os.MkdirAll(e.cacheDir(h), 0o755))
		require.NoError(e.t, os.WriteFile(filepath.Join(e.confDir(h), "10-ebpfnet.conflist"), e.conflist(h, override), 0o644))
	}
}

// confDir, cacheDir and ipamDir are h's NETCONFPATH, libcni cache and host-local data dir.
func (e *env) confDir(h *testbed.Host) string  { return e.dir(h, "net.d") }
func (e *env) cacheDir(h *testbed.Host) string { return e.dir(h, "cni-cache") }
func (e *env) ipamDir(h *testbed.Host) string  { return e.dir(h, "ipam") }

func (e *env) dir(h *testbed.Host, what string) string {
	return filepath.Join(e.Bed.TempDir(), h.Name+"-"+what)
}

// conflist is examples/cni/10-ebpfnet.conflist for host h.
func (e *env) conflist(h *testbed.Host, override map[string]any) []byte {
	b, err := os.ReadFile("../../examples/cni/10-ebpfnet.conflist")
	require.NoError(e.t, err)
	var list map[string]any
	require.NoError(e.t, json.Unmarshal(b, &list))
	require.Equal(e.t, netName, list["name"])
	// 1.0.0 for runtimes whose libcni predates version negotiation (podman 4, containerd 1.x),
	// which read only cniVersion; libcni 1.2+ (cnitool here) picks the highest of cniVersions.
	require.Equal(e.t, "1.0.0", list["cniVersion"])
	require.Equal(e.t, []any{"1.0.0", "1.1.0"}, list["cniVersions"])
	p := list["plugins"].([]any)[0].(map[string]any)
	require.Equal(e.t, "ebpfnet-cni", p["type"])
	p["agentSocket"] = h.Socket
	for k, v := range override {
		p[k] = v
	}
	p["ipam"].(map[string]any)["dataDir"] = e.ipamDir(h)
	out, err := json.Marshal(list)
	require.NoError(e.t, err)
	return out
}

// pluginConf is the plugin's stdin as libcni 1.2+ builds it from h's conflist (the highest of
// cniVersions, 1.1.0), with extra keys.
func (e *env) pluginConf(h *testbed.Host, extra map[string]any) []byte {
	var list struct {
		CNIVersions []string         `json:"cniVersions"`
		Name        string           `json:"name"`
		Plugins     []map[string]any `json:"plugins"`
	}
	require.NoError(e.t, json.Unmarshal(e.conflist(h, nil), &list))
	conf := list.Plugins[0]
	conf["cniVersion"], conf["name"] = list.CNIVersions[len(list.CNIVersions)-1], list.Name
	for k, v := range extra {
		conf[k] = v
	}
	b, err := json.Marshal(conf)
	require.NoError(e.t, err)
	return b
}

// run runs argv in h's netns with stdin and returns stdout and stderr; err is the exit status.
func (e *env) run(h *testbed.Host, stdin []byte, argv ...string) (string, string, error) {
	cmd := e.Bed.Command(h.Name, append([]string{"timeout", "120"}, argv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// cnitool runs `cnitool verb ebpfnet netns` in h's netns with h's conflist, in a private mount
// namespace whose /var/lib is h's cache dir (libcni keeps results in /var/lib/cni, which the
// test must not touch on the machine). vars are extra environment, e.g. CAP_ARGS=... .
func (e *env) cnitool(h *testbed.Host, verb, netns string, vars ...string) (string, string, error) {
	argv := append([]string{"env", "CNI_PATH=" + pluginDir, "NETCONFPATH=" + e.confDir(h)}, vars...)
	argv = append(argv, "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount --bind "$0" /var/lib && exec "$@"`, e.cacheDir(h), cnitool, verb, netName, netns)
	return e.run(h, nil, argv...)
}

// add attaches netns with cnitool and returns the result.
func (e *env) add(h *testbed.Host, netns string, vars ...string) *current.Result {
	e.t.Helper()
	out, stderr, err := e.cnitool(h, "add", netns, vars...)
	require.NoError(e.t, err, "cnitool add %s: %s%s", netns, out, stderr)
	r, err := current.NewResult([]byte(out))
	require.NoError(e.t, err, out)
	return r.(*current.Result)
}

// pluginErr is the CNI error JSON a plugin prints on failure.
type pluginErr struct {
	CNIVersion string `json:"cniVersion"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details"`
}

// invoke runs ebpfnet-cni directly as a runtime does (CNI_* variables, config on stdin) in h's
// netns. On failure it returns the parsed error JSON and checks the exit status and that
// nothing panicked.
func (e *env) invoke(h *testbed.Host, cmd string, stdin []byte, vars ...string) (string, *pluginErr) {
	e.t.Helper()
	argv := append([]string{"env", "CNI_COMMAND=" + cmd, "CNI_PATH=" + pluginDir}, vars...)
	out, stderr, err := e.run(h, stdin, append(argv, plugin)...)
	require.NotContains(e.t, stderr, "panic", "stderr of %s", cmd)
	if err == nil {
		return out, nil
	}
	var ee *exec.ExitError
	require.ErrorAs(e.t, err, &ee)
	require.Equal(e.t, 1, ee.ExitCode(), "exit status of %s: %s %s", cmd, out, stderr)
	var pe pluginErr
	require.NoError(e.t, json.Unmarshal([]byte(out), &pe), "stdout of failed %s must be CNI error JSON: %q", cmd, out)
	return out, &pe
}

// endpoints lists h's endpoints through the CLI.
func (e *env) endpoints(h *testbed.Host) []api.Endpoint {
	e.t.Helper()
	out, err := e.CLI(h, "endpoint", "list", "-o", "json")
	require.NoError(e.t, err)
	var eps []api.Endpoint
	require.NoError(e.t, json.Unmarshal([]byte(out), &eps))
	return eps
}

// cniEndpoint returns h's endpoint of container ID cid, or false.
func (e *env) cniEndpoint(h *testbed.Host, cid string) (api.Endpoint, bool) {
	e.t.Helper()
	for _, ep := range e.endpoints(h) {
		if ep.Labels[cni.LabelContainerID] == cid {
			return ep, true
		}
	}
	return api.Endpoint{}, false
}

// endpointOf returns h's endpoint in netns path.
func (e *env) endpointOf(h *testbed.Host, path string) api.Endpoint {
	e.t.Helper()
	for _, ep := range e.endpoints(h) {
		if ep.Netns == path {
			return ep
		}
	}
	e.t.Fatalf("no endpoint in %s on %s", path, h.Name)
	return api.Endpoint{}
}

// allocated lists the addresses host-local holds on h, with the "containerID ifname" owning
// each.
func (e *env) allocated(h *testbed.Host) map[netip.Addr]string {
	e.t.Helper()
	dir := filepath.Join(e.ipamDir(h), netName)
	files, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return map[netip.Addr]string{}
	}
	require.NoError(e.t, err)
	out := map[netip.Addr]string{}
	for _, f := range files {
		ip, err := netip.ParseAddr(f.Name())
		if err != nil {
			continue // lock, last_reserved_ip.0
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		require.NoError(e.t, err)
		out[ip] = strings.Join(strings.Fields(string(b)), " ")
	}
	return out
}

// links lists the interface names in the bed namespace ns.
func (e *env) links(ns string) []string {
	e.t.Helper()
	h, err := e.Bed.Handle(ns)
	require.NoError(e.t, err)
	var names []string
	require.Eventually(e.t, func() bool {
		ls, err := h.LinkList()
		if err != nil {
			return false
		}
		names = names[:0]
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return true
	}, 5*time.Second, 50*time.Millisecond)
	slices.Sort(names)
	return names
}

// ownNetns creates netns "<prefix>-name" outside the bed's bookkeeping, so a test can delete it
// as a runtime would; cleanup removes it if it still exists.
func (e *env) ownNetns(name string) string {
	e.t.Helper()
	full := e.Bed.Prefix() + "-" + name
	out, err := exec.Command("ip", "netns", "add", full).CombinedOutput()
	require.NoError(e.t, err, string(out))
	path := filepath.Join(testbed.NetnsDir, full)
	e.t.Cleanup(func() {
		if _, err := os.Stat(path); err == nil {
			if out, err := exec.Command("ip", "netns", "del", full).CombinedOutput(); err != nil {
				e.t.Errorf("ip netns del %s: %v: %s", full, err, out)
			}
		}
	})
	return path
}

// delNetns deletes a namespace made by ownNetns.
func (e *env) delNetns(path string) {
	e.t.Helper()
	out, err := exec.Command("ip", "netns", "del", filepath.Base(path)).CombinedOutput()
	require.NoError(e.t, err, string(out))
}

// dumpMap returns bpftool's JSON dump of h's pinned map name.
func dumpMap(t *testing.T, h *testbed.Host, name string) string {
	t.Helper()
	out, err := exec.Command("bpftool", "map", "dump", "pinned", filepath.Join(h.PinDir, name), "-j").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}
