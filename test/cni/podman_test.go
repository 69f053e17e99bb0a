package cni

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// podmanEnv runs Debian's podman 4.3 (CNI backend, runc) against one ebpfnet host, in a sandbox
// that leaves the machine as it was: a private mount namespace (shared with the agent, which
// must open the container netns paths podman makes) with tmpfs over /run and /var/lib (netns
// files, runc state, libcni's cache), podman's config and storage in the test's temp dir, and
// the containers' cgroups under a parent of the test's own. The facts it rests on (runc, not
// crun, on this hybrid cgroup host; cgroupfs; file events and locks; ulimits root can set) are
// in ../shared/REFERENCE.md, "Podman 4.3.1".
type podmanEnv struct {
	*env
	host   *testbed.Host
	mntNS  string // /proc/<pid>/ns/mnt of the sandbox
	conf   string // CONTAINERS_CONF
	store  string // CONTAINERS_STORAGE_CONF
	cgroup string // cgroup parent, e.g. /ebpfnet-cni-1a2b3c
	rootfs string // busybox rootfs, run with --rootfs DIR:O
}

// newPodmanEnv builds the sandbox with the agent inside it. It skips when podman is not
// installed; runc and a static busybox are then required.
func newPodmanEnv(t *testing.T) *podmanEnv {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman not installed (make deps installs it)")
	}
	busybox, err := exec.LookPath("busybox")
	require.NoError(t, err, "busybox-static is needed with podman")
	_, err = exec.LookPath("runc")
	require.NoError(t, err, "runc is needed with podman")

	e := newBareEnv(t, 1)
	h := e.Hosts[0]
	holder, err := e.Bed.Start(h.Name, "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", "mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/lib && echo sandbox-ready && exec sleep infinity")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, holder.WaitLog(ctx, "sandbox-ready"), holder.Log())
	p := &podmanEnv{env: e, host: h, mntNS: fmt.Sprintf("/proc/%d/ns/mnt", holder.PID()), cgroup: "/" + e.Bed.Prefix()}
	e.AgentPrefix = []string{"nsenter", "--mount=" + p.mntNS, "--"}
	require.NoError(t, e.StartAgent(h))
	e.writeConflists(nil)

	dir := filepath.Join(e.Bed.TempDir(), "podman")
	p.conf, p.store = filepath.Join(dir, "containers.conf"), filepath.Join(dir, "storage.conf")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(p.conf, fmt.Appendf(nil, `[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"

[network]
network_backend = "cni"
network_config_dir = %q
cni_plugin_dirs = [%q]
`, e.confDir(h), pluginDir), 0o644))
	require.NoError(t, os.WriteFile(p.store, fmt.Appendf(nil, `[storage]
driver = "overlay"
graphroot = %q
runroot = %q
`, filepath.Join(dir, "graph"), filepath.Join(dir, "run")), 0o644))

	p.rootfs = filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "www", "etc", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(p.rootfs, d), 0o755))
	}
	b, err := os.ReadFile(busybox)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(p.rootfs, "bin", "busybox"), b, 0o755))
	for _, applet := range []string{"sh", "httpd", "wget", "sleep", "timeout", "cat"} {
		require.NoError(t, os.Symlink("busybox", filepath.Join(p.rootfs, "bin", applet)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(p.rootfs, "www", "index.html"), []byte("served by ebpfnet under podman\n"), 0o644))

	t.Cleanup(func() {
		if out, err := p.podman("rm", "--all", "--force", "--time", "0"); err != nil {
			t.Errorf("podman rm --all: %v: %s", err, out)
		}
		removeCgroups(t, p.cgroup)
	})
	return p
}

// podman runs podman with args in the sandbox, in the host's netns, and returns its output.
func (p *podmanEnv) podman(args ...string) (string, error) {
	argv := append([]string{"env", "CONTAINERS_CONF=" + p.conf, "CONTAINERS_STORAGE_CONF=" + p.store,
		"nsenter", "--mount=" + p.mntNS, "--", "podman"}, args...)
	out, stderr, err := p.run(p.host, nil, argv...)
	return out + stderr, err
}

// start runs a detached container named name on the ebpfnet network with the busybox rootfs.
func (p *podmanEnv) start(name string, extra ...string) string {
	p.t.Helper()
	args := append([]string{"run", "--detach", "--name", name, "--network", netName, "--cgroup-parent", p.cgroup}, extra...)
	out, err := p.podman(args...)
	require.NoError(p.t, err, out)
	id := strings.TrimSpace(out)
	return id[strings.LastIndex(id, "\n")+1:]
}

// removeCgroups removes the cgroup parent dir from every hierarchy (children first); runc
// leaves the parent behind after the containers are gone.
func removeCgroups(t *testing.T, parent string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range append(roots, "/sys/fs/cgroup") {
		top := filepath.Join(root, parent)
		var dirs []string
		_ = filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				t.Errorf("remove cgroup %s: %v", dirs[i], err)
			}
		}
	}
}

// httpGet fetches http://addr/ from the bed namespace ns with a plain HTTP/1.0 request.
func (p *podmanEnv) httpGet(ns string, addr netip.AddrPort) (string, error) {
	c, err := p.Bed.DialTCP(ns, addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// TestPodman drives the plugin through a real runtime, Debian's podman 4.3 with runc, using the
// shipped example conflist (cniVersion 1.0.0, the newest podman 4 reads): two containers on the
// ebpfnet network reach each other, a port published with -p answers on the host's loopback,
// its underlay IP and to a container (hairpin), although podman holds a reservation socket on
// it (which used to take the loopback connection and hang it), and removing the containers leaves no endpoint,
// no published port and no allocated address.
func TestPodman(t *testing.T) {
	p := newPodmanEnv(t)
	h := p.host
	out, err := p.podman("network", "ls", "--format", "{{.Name}} {{.Driver}}")
	require.NoError(t, err, out)
	require.Contains(t, out, netName, "podman reads the shipped conflist")

	prefix := p.Bed.Prefix()
	webID := p.start(prefix+"-web", "--publish", "8080:80/tcp", "--rootfs", p.rootfs+":O", "/bin/httpd", "-f", "-p", "80", "-h", "/www")
	clientID := p.start(prefix+"-client", "--rootfs", p.rootfs+":O", "/bin/sleep", "600")
	web, ok := p.cniEndpoint(h, webID)
	require.True(t, ok, "the agent has the web container's endpoint: %v", p.endpoints(h))
	client, ok := p.cniEndpoint(h, clientID)
	require.True(t, ok)
	require.True(t, h.PodCIDR.Contains(web.IP) && h.PodCIDR.Contains(client.IP))
	inspect, err := p.podman("inspect", "--format", "{{(index .NetworkSettings.Networks \""+netName+"\").IPAddress}}", webID)
	require.NoError(t, err, inspect)
	require.Equal(t, web.IP.String(), strings.TrimSpace(inspect), "podman read the plugin's 1.0.0 result")

	// podman (conmon) holds a reservation socket on the published port for the container's
	// life; a connection that reaches it hangs. Every local address must be served before it.
	ss, err := p.Bed.Run(t.Context(), h.Name, "ss", "-Hltn", "sport = :8080")
	require.NoError(t, err)
	require.Contains(t, ss, "LISTEN", "podman's reservation socket on 8080")

	const page = "served by ebpfnet under podman"
	for _, target := range []string{web.IP.String(), h.UnderlayIP.String() + ":8080"} {
		out, err := p.podman("exec", prefix+"-client", "timeout", "10", "wget", "-q", "-O", "-", "http://"+target+"/")
		require.NoError(t, err, "client -> %s: %s", target, out)
		require.Contains(t, out, page, "client -> %s", target)
	}
	for _, addr := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), h.UnderlayIP} {
		body, err := p.httpGet(h.Name, netip.AddrPortFrom(addr, 8080))
		require.NoError(t, err, "host -> %s:8080", addr)
		require.Contains(t, body, page, "host -> %s:8080 (published with -p)", addr)
	}
	ports, err := p.CLI(h, "publish", "list", "-o", "json")
	require.NoError(t, err)
	require.Contains(t, ports, `"hostPort": 8080`)

	out, err = p.podman("rm", "--force", "--time", "0", prefix+"-web", prefix+"-client")
	require.NoError(t, err, out)
	require.Empty(t, p.endpoints(h), "podman rm: endpoints deleted")
	require.Empty(t, p.allocated(h), "podman rm: addresses released")
	ports, err = p.CLI(h, "publish", "list", "-o", "json")
	require.NoError(t, err)
	require.Equal(t, "{}\n", ports, "podman rm: ports unpublished")
}
