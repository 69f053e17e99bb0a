package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
)

// fakeAgent is an in-memory agent API.
type fakeAgent struct {
	node       api.Node
	eps        []api.Endpoint
	down       bool  // every call fails as unreachable
	addErr     error // AddEndpoint fails with it
	panics     bool  // Status panics
	addPanics  bool  // AddEndpoint panics after creating the endpoint
	addTimeout bool  // AddEndpoint creates the endpoint, but the client times out
	deleted    []string
	published  []string      // Publish requests as "endpoint spec hostIP"
	publishErr error         // Publish fails with it
	networks   []api.Network // besides the default one
}

func (f *fakeAgent) Network(name string) (api.NetworkInfo, error) {
	if name == api.DefaultNetwork {
		return api.NetworkInfo{Network: api.Network{Name: name, Subnet: f.node.Cluster}}, nil
	}
	for _, n := range f.networks {
		if n.Name == name {
			return api.NetworkInfo{Network: n}, nil
		}
	}
	return api.NetworkInfo{}, &client.Error{Status: http.StatusNotFound, Kind: api.ErrNotFound, Msg: "network " + name + ": not found"}
}

// NetworkSlice is this node's slice of a network: the /24 at index 1 of its subnet.
func (f *fakeAgent) NetworkSlice(name string) (api.NetworkSlice, error) {
	info, err := f.Network(name)
	if err != nil {
		return api.NetworkSlice{}, err
	}
	b := info.Subnet.Addr().As4()
	return api.NetworkSlice{CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], 1, 0}), 24), Self: true}, nil
}

func (f *fakeAgent) Publish(req api.PublishRequest) (api.PortMapping, error) {
	if f.publishErr != nil {
		return api.PortMapping{}, f.publishErr
	}
	f.published = append(f.published, strings.TrimSpace(req.Endpoint+" "+req.Spec+" "+req.HostIP))
	return api.PortMapping{}, nil
}

func (f *fakeAgent) unreachable() error {
	return fmt.Errorf("%w at /fake.sock (is `ebpfnet agent` running?): connection refused", client.ErrAgentUnreachable)
}

func (f *fakeAgent) Status() (api.Status, error) {
	if f.panics {
		panic("boom")
	}
	if f.down {
		return api.Status{}, f.unreachable()
	}
	return api.Status{Node: f.node}, nil
}

func (f *fakeAgent) Endpoints() ([]api.Endpoint, error) {
	if f.down {
		return nil, f.unreachable()
	}
	return slices.Clone(f.eps), nil
}

func (f *fakeAgent) AddEndpoint(req api.EndpointRequest) (api.Endpoint, error) {
	if f.addErr != nil {
		return api.Endpoint{}, f.addErr
	}
	labels := map[string]string{}
	for _, l := range req.Labels {
		k, v, _ := strings.Cut(l, "=")
		labels[k] = v
	}
	ep := api.Endpoint{Name: req.Name, Netns: req.Netns, IP: netip.MustParseAddr(req.IP), MAC: "02:00:00:00:00:05",
		Labels: labels, HostIfName: "lxc" + req.Name[:4], IfIndex: 7, IfName: req.IfName, MTU: req.MTU, Network: req.Network}
	f.eps = append(f.eps, ep)
	if f.addPanics {
		panic("agent client bug")
	}
	if f.addTimeout {
		return api.Endpoint{}, fmt.Errorf("%w at /fake.sock: context deadline exceeded", client.ErrAgentUnreachable)
	}
	return ep, nil
}

func (f *fakeAgent) DeleteEndpoint(name string) error {
	i := slices.IndexFunc(f.eps, func(e api.Endpoint) bool { return e.Name == name })
	if i < 0 {
		return &client.Error{Status: http.StatusNotFound, Kind: api.ErrNotFound, Msg: "endpoint " + name + ": not found"}
	}
	f.eps = slices.Delete(f.eps, i, i+1)
	f.deleted = append(f.deleted, name)
	return nil
}

// fakeIPAM records IPAM calls as "CMD containerID/ifname" and answers ADD with ip.
type fakeIPAM struct {
	version.PluginDecoder
	ip    string
	calls []string
	confs [][]byte
}

func (f *fakeIPAM) ExecPlugin(_ context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s/%s", path.Base(pluginPath), env["CNI_COMMAND"], env["CNI_CONTAINERID"], env["CNI_IFNAME"]))
	f.confs = append(f.confs, stdin)
	if env["CNI_COMMAND"] == "ADD" {
		return fmt.Appendf(nil, `{"cniVersion":"1.1.0","ips":[{"address":%q,"gateway":"10.42.1.1"}]}`, f.ip), nil
	}
	return nil, nil
}

func (f *fakeIPAM) FindInPath(plugin string, paths []string) (string, error) {
	return "/opt/cni/bin/" + plugin, nil
}

const testConf = `{"cniVersion":"1.1.0","name":"net1","type":"ebpfnet-cni","agentSocket":"/fake.sock",
	"dns":{"nameservers":["169.254.169.250"]}%s}`

type fixture struct {
	ag   *fakeAgent
	ipam *fakeIPAM
	p    *Plugin
	out  bytes.Buffer
	ns   string // an existing path standing in for the container netns
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{ag: &fakeAgent{node: node}, ipam: &fakeIPAM{ip: "10.42.1.5/24"}, ns: t.TempDir()}
	f.p = &Plugin{NewAgent: func(socket string) Agent {
		require.Equal(t, "/fake.sock", socket)
		return f.ag
	}, Exec: f.ipam, Stdout: &f.out}
	return f
}

func (f *fixture) args(cid, extraConf string) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: cid, Netns: f.ns, IfName: "eth0", Path: "/opt/cni/bin",
		StdinData: fmt.Appendf(nil, testConf, extraConf)}
}

// run calls cmd through Funcs, as skel would.
func (f *fixture) run(cmd string, args *skel.CmdArgs) error {
	fn := map[string]func(*skel.CmdArgs) error{"ADD": f.p.Funcs().Add, "DEL": f.p.Funcs().Del,
		"CHECK": f.p.Funcs().Check, "GC": f.p.Funcs().GC, "STATUS": f.p.Funcs().Status}[cmd]
	return fn(args)
}

func TestAdd(t *testing.T) {
	f := newFixture(t)
	args := f.args("cid1", "")
	args.Args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0"
	require.NoError(t, f.run("ADD", args))
	require.Equal(t, []string{"host-local ADD cid1/eth0"}, f.ipam.calls)
	require.JSONEq(t, `{"type":"host-local","ranges":[[{"subnet":"10.42.1.0/24","gateway":"10.42.1.1"}]]}`, ipamOf(t, f.ipam.confs[0]))

	require.Len(t, f.ag.eps, 1)
	ep := f.ag.eps[0]
	require.Equal(t, "cid1-eth0", ep.Name)
	require.Equal(t, f.ns, ep.Netns)
	require.Equal(t, netip.MustParseAddr("10.42.1.5"), ep.IP)
	require.Equal(t, "eth0", ep.IfName)
	require.Equal(t, 1450, ep.MTU)
	require.Equal(t, map[string]string{LabelContainerID: "cid1", LabelNetwork: "net1", LabelPodNS: "shop", LabelPodName: "web-0"}, ep.Labels)

	res, err := current.NewResult(f.out.Bytes())
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"cniVersion":"1.1.0",
		"interfaces":[{"name":"lxccid1","mac":"0e:00:ac:1f:00:01","mtu":1450},
		              {"name":"eth0","mac":"02:00:00:00:00:05","mtu":1450,"sandbox":%q}],
		"ips":[{"interface":1,"address":"10.42.1.5/16","gateway":"10.42.1.1"}],
		"routes":[{"dst":"0.0.0.0/0","gw":"10.42.1.1"}],
		"dns":{"nameservers":["169.254.169.250"]}}`, f.ns), string(mustJSON(t, res)))

	// A second ADD of the same attachment is refused before IPAM runs: its rollback would
	// release the address the first one holds.
	err = f.run("ADD", f.args("cid1", ""))
	requireCode(t, err, types.ErrInternal, "container cid1 is already attached on eth0 as endpoint cid1-eth0 (IP 10.42.1.5); DEL it first")
	require.Len(t, f.ipam.calls, 1)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestAddOlderCNIVersion(t *testing.T) {
	f := newFixture(t)
	args := f.args("cid1", "")
	args.StdinData = bytes.Replace(args.StdinData, []byte(`"1.1.0"`), []byte(`"0.4.0"`), 1)
	require.NoError(t, f.run("ADD", args))
	require.Contains(t, f.out.String(), `"cniVersion": "0.4.0"`)
	require.Contains(t, f.out.String(), `"version": "4"`)
}

func TestAddRollsBack(t *testing.T) {
	t.Run("agent refuses", func(t *testing.T) {
		f := newFixture(t)
		f.ag.addErr = &client.Error{Status: http.StatusConflict, Kind: api.ErrConflict, Msg: "IP 10.42.1.5 is already used by endpoint web1"}
		err := f.run("ADD", f.args("cid1", ""))
		requireCode(t, err, types.ErrInternal, "ADD: attach cid1-eth0: IP 10.42.1.5 is already used by endpoint web1")
		require.Empty(t, f.ag.deleted, "a refusal made nothing to delete")
		require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0"}, f.ipam.calls, "address released")
		require.Empty(t, f.out.String())
	})
	t.Run("port mapping refused by the agent", func(t *testing.T) {
		f := newFixture(t)
		f.ag.publishErr = &client.Error{Status: http.StatusConflict, Kind: api.ErrConflict, Msg: "port 8080:80/tcp is already published by endpoint web1 (8080:80/tcp)"}
		err := f.run("ADD", f.args("cid1", `,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80}]}`))
		requireCode(t, err, types.ErrInternal, "ADD: publish 8080:80/tcp: port 8080:80/tcp is already published by endpoint web1")
		require.Equal(t, []string{"cid1-eth0"}, f.ag.deleted, "endpoint deleted again")
		require.Empty(t, f.ag.eps)
		require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0"}, f.ipam.calls, "address released")
	})
	t.Run("panic", func(t *testing.T) {
		f := newFixture(t)
		f.ag.addPanics = true
		err := f.run("ADD", f.args("cid1", ""))
		requireCode(t, err, types.ErrInternal, "ebpfnet-cni ADD: internal error: agent client bug")
		require.Equal(t, []string{"cid1-eth0"}, f.ag.deleted, "the endpoint the agent made is deleted")
		require.Empty(t, f.ag.eps)
		require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0"}, f.ipam.calls, "address released")
		require.Empty(t, f.out.String())
	})
	t.Run("attach times out", func(t *testing.T) {
		f := newFixture(t)
		f.ag.addTimeout = true
		err := f.run("ADD", f.args("cid1", ""))
		requireCode(t, err, types.ErrTryAgainLater, "context deadline exceeded")
		require.Equal(t, []string{"cid1-eth0"}, f.ag.deleted, "the endpoint the agent may have made is deleted")
		require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0"}, f.ipam.calls, "address released")
	})
	t.Run("no IPv4 from IPAM", func(t *testing.T) {
		f := newFixture(t)
		f.ipam.ip = "fd00::5/64"
		err := f.run("ADD", f.args("cid1", ""))
		requireCode(t, err, types.ErrInternal, "no IPv4 address in result")
		require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0"}, f.ipam.calls)
		require.Empty(t, f.ag.eps)
	})
}

func TestAddFailsBeforeIPAM(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(*fixture, *skel.CmdArgs)
		code   uint
		msg    string
	}{
		"agent down":  {func(f *fixture, _ *skel.CmdArgs) { f.ag.down = true }, types.ErrTryAgainLater, "ADD: cannot reach the ebpfnet agent"},
		"netns gone":  {func(f *fixture, a *skel.CmdArgs) { a.Netns = f.ns + "/gone" }, types.ErrUnknownContainer, "no such file or directory"},
		"no pod CIDR": {func(f *fixture, _ *skel.CmdArgs) { f.ag.node.PodCIDR = netip.Prefix{} }, types.ErrInvalidNetworkConfig, "has no pod CIDR"},
		"MTU too large": {func(f *fixture, a *skel.CmdArgs) {
			a.StdinData = []byte(`{"name":"net1","agentSocket":"/fake.sock","mtu":9000}`)
		}, types.ErrInvalidNetworkConfig, "the agent allows 68..1450"},
		"bad CNI_ARGS": {func(f *fixture, a *skel.CmdArgs) { a.Args = "K8S_POD_NAME" }, types.ErrInvalidEnvironmentVariables, "invalid pair"},
		"bad config":   {func(f *fixture, a *skel.CmdArgs) { a.StdinData = []byte(`{"name":"net1","mtu":-3}`) }, types.ErrInvalidNetworkConfig, "mtu -3"},
		"panic":        {func(f *fixture, _ *skel.CmdArgs) { f.ag.panics = true }, types.ErrInternal, "ebpfnet-cni ADD: internal error: boom"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			args := f.args("cid1", "")
			tc.mutate(f, args)
			requireCode(t, f.run("ADD", args), tc.code, tc.msg)
			require.Empty(t, f.ipam.calls, "IPAM not called")
			require.Empty(t, f.ag.eps)
		})
	}
}

func TestDel(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.run("ADD", f.args("cid1", "")))
	// An endpoint that happens to have the name DEL derives but belongs to someone else.
	f.ag.eps = append(f.ag.eps, api.Endpoint{Name: "cid2-eth0", Labels: map[string]string{"app": "manual"}})

	require.NoError(t, f.run("DEL", f.args("cid1", "")))
	require.Equal(t, []string{"cid1-eth0"}, f.ag.deleted)
	require.NoError(t, f.run("DEL", f.args("cid1", "")), "DEL is idempotent")
	args := f.args("cid1", "")
	args.Netns = ""
	require.NoError(t, f.run("DEL", args), "DEL without netns")
	require.NoError(t, f.run("DEL", f.args("cid2", "")))
	require.Equal(t, []string{"cid1-eth0"}, f.ag.deleted, "cid2-eth0 is not ours")
	require.Equal(t, []string{"host-local ADD cid1/eth0", "host-local DEL cid1/eth0", "host-local DEL cid1/eth0",
		"host-local DEL cid1/eth0", "host-local DEL cid2/eth0"}, f.ipam.calls)

	f.ag.down = true
	requireCode(t, f.run("DEL", f.args("cid1", "")), types.ErrTryAgainLater, "DEL: cannot reach the ebpfnet agent")
	require.Len(t, f.ipam.calls, 5, "no release while the agent may still hold the address")
}

func TestGC(t *testing.T) {
	f := newFixture(t)
	for _, cid := range []string{"keep", "stale"} {
		f.ipam.ip = map[string]string{"keep": "10.42.1.5/24", "stale": "10.42.1.6/24"}[cid]
		require.NoError(t, f.run("ADD", f.args(cid, "")))
	}
	f.ag.eps = append(f.ag.eps,
		api.Endpoint{Name: "manual", Labels: map[string]string{"app": "x"}},
		api.Endpoint{Name: "other-net", Labels: map[string]string{LabelContainerID: "o", LabelNetwork: "net2"}})
	f.ipam.calls, f.ipam.confs = nil, nil

	args := f.args("", `,"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]`)
	args.Netns, args.IfName = "", ""
	require.NoError(t, f.run("GC", args))
	require.Equal(t, []string{"stale-eth0"}, f.ag.deleted)
	require.Equal(t, []string{"host-local DEL stale/eth0", "host-local GC /"}, f.ipam.calls)
	require.Contains(t, string(f.ipam.confs[1]), `"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]`)

	args.StdinData = fmt.Appendf(nil, testConf, "") // no valid attachments: every attachment of net1 goes
	require.NoError(t, f.run("GC", args))
	require.Equal(t, []string{"stale-eth0", "keep-eth0"}, f.ag.deleted)
	names := []string{}
	for _, ep := range f.ag.eps {
		names = append(names, ep.Name)
	}
	require.Equal(t, []string{"manual", "other-net"}, names)
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.run("ADD", f.args("cid1", "")))
	prev := `,"prevResult":` + f.out.String()
	// The agent side is checked first; the container side needs a real netns (e2e test).
	f.ag.eps[0].IP = netip.MustParseAddr("10.42.1.9")
	requireCode(t, f.run("CHECK", f.args("cid1", prev)), types.ErrInternal, "endpoint cid1-eth0 has IP 10.42.1.9, prevResult says 10.42.1.5")
	f.ag.eps[0].IP = netip.MustParseAddr("10.42.1.5")
	f.ag.eps[0].IfIndex = 0
	requireCode(t, f.run("CHECK", f.args("cid1", prev)), types.ErrInternal, "the host veth lxccid1 of endpoint cid1-eth0 is gone")
	requireCode(t, f.run("CHECK", f.args("cid2", prev)), types.ErrInternal, "the agent has no endpoint cid2-eth0 for container cid2")
	requireCode(t, f.run("CHECK", f.args("cid1", "")), types.ErrInvalidNetworkConfig, "CHECK needs a prevResult")
	f.ag.down = true
	requireCode(t, f.run("CHECK", f.args("cid1", prev)), types.ErrTryAgainLater, "CHECK: cannot reach")
}

func TestStatus(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.run("STATUS", f.args("", "")))
	require.Equal(t, []string{"host-local STATUS /"}, f.ipam.calls)
	f.ag.node.PodCIDR = netip.Prefix{}
	requireCode(t, f.run("STATUS", f.args("", "")), types.ErrPluginNotAvailable, "has no pod CIDR")
	f.ag.down = true
	requireCode(t, f.run("STATUS", f.args("", "")), types.ErrPluginNotAvailable, "ebpfnet agent not available: cannot reach the ebpfnet agent")
}
