package cni

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

var node = api.Node{
	Cluster: netip.MustParsePrefix("10.42.0.0/16"), PodCIDR: netip.MustParsePrefix("10.42.1.0/24"),
	Gateway: netip.MustParseAddr("10.42.1.1"), MTU: 1450, RouterMAC: "0e:00:ac:1f:00:01",
}

// requireCode asserts err is a *types.Error with code and a message containing msg.
func requireCode(t *testing.T, err error, code uint, msg string) {
	t.Helper()
	require.Error(t, err)
	e, ok := err.(*types.Error)
	require.True(t, ok, "want *types.Error, got %T: %v", err, err)
	require.Equal(t, code, e.Code, "code of %q", e.Msg)
	require.Contains(t, e.Msg, msg)
}

func TestParseConfigDefaults(t *testing.T) {
	conf, err := ParseConfig([]byte(`{"cniVersion":"1.1.0","name":"net1","type":"ebpfnet-cni"}`))
	require.NoError(t, err)
	require.Equal(t, api.DefaultSocket, conf.AgentSocket)
	require.Equal(t, "host-local", conf.IPAMType())
	mtu, err := conf.ContainerMTU(1450)
	require.NoError(t, err)
	require.Equal(t, 1450, mtu, "default: the agent's MTU")
	require.Empty(t, conf.ports)

	// The default IPAM gets the node's pod CIDR and gateway; everything else is passed through.
	b, err := conf.ipamConfig(node)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "net1", got["name"])
	require.Equal(t, "1.1.0", got["cniVersion"])
	require.Equal(t, map[string]any{"type": "host-local", "ranges": []any{[]any{
		map[string]any{"subnet": "10.42.1.0/24", "gateway": "10.42.1.1"}}}}, got["ipam"])

	// No pod CIDR on the agent: a clear config error.
	_, err = conf.ipamConfig(api.Node{Cluster: node.Cluster, Gateway: netip.MustParseAddr("10.42.0.1")})
	requireCode(t, err, types.ErrInvalidNetworkConfig, "has no pod CIDR to allocate from; start it with --pod-cidr")
}

func TestParseConfigIPAMKeptWhenGiven(t *testing.T) {
	conf, err := ParseConfig([]byte(`{"cniVersion":"1.1.0","name":"n","type":"ebpfnet-cni","agentSocket":"/x.sock",
		"ipam":{"type":"host-local","dataDir":"/d","ranges":[[{"subnet":"10.42.1.0/25"}]]}}`))
	require.NoError(t, err)
	require.Equal(t, "/x.sock", conf.AgentSocket)
	b, err := conf.ipamConfig(api.Node{}) // no pod CIDR needed: ranges are given
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"host-local","dataDir":"/d","ranges":[[{"subnet":"10.42.1.0/25"}]]}`, ipamOf(t, b))

	conf, err = ParseConfig([]byte(`{"cniVersion":"1.1.0","name":"n","ipam":{"type":"host-local","dataDir":"/d"}}`))
	require.NoError(t, err)
	b, err = conf.ipamConfig(node)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"host-local","dataDir":"/d","ranges":[[{"subnet":"10.42.1.0/24","gateway":"10.42.1.1"}]]}`, ipamOf(t, b))

	conf, err = ParseConfig([]byte(`{"cniVersion":"1.1.0","name":"n","ipam":{"type":"static","addresses":[]}}`))
	require.NoError(t, err)
	require.False(t, conf.needsPodCIDR())
	b, err = conf.ipamConfig(api.Node{})
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"static","addresses":[]}`, ipamOf(t, b))
}

func ipamOf(t *testing.T, conf []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(conf, &m))
	return string(m["ipam"])
}

func TestParseConfigMTU(t *testing.T) {
	for _, tc := range []struct {
		conf    string
		nodeMTU int
		want    int
		err     string
	}{
		{`{"name":"n","mtu":1450}`, 1450, 1450, ""},
		{`{"name":"n","mtu":1500,"linkMTUOverhead":50}`, 1450, 1450, ""},
		{`{"name":"n","mtu":1450,"linkMTUOverhead":98}`, 1450, 1352, ""}, // Rancher's IPsec overhead
		{`{"name":"n","linkMTUOverhead":26}`, 1450, 1424, ""},            // default base: the agent's MTU
		{`{"name":"n","mtu":9000}`, 1450, 0, "container MTU 9000 (mtu 9000 - linkMTUOverhead 0) is out of range: the agent allows 68..1450"},
		{`{"name":"n","linkMTUOverhead":1400}`, 1450, 0, "container MTU 50 (mtu 1450 - linkMTUOverhead 1400) is out of range"},
	} {
		conf, err := ParseConfig([]byte(tc.conf))
		require.NoError(t, err, tc.conf)
		mtu, err := conf.ContainerMTU(tc.nodeMTU)
		if tc.err != "" {
			requireCode(t, err, types.ErrInvalidNetworkConfig, tc.err)
			continue
		}
		require.NoError(t, err, tc.conf)
		require.Equal(t, tc.want, mtu, tc.conf)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		conf string
		code uint
		msg  string
	}{
		{`{"name":"n",`, types.ErrDecodingFailure, "decode network config"},
		{`[1,2]`, types.ErrDecodingFailure, "decode network config"},
		{`{"name":"n","mtu":"big"}`, types.ErrDecodingFailure, "decode network config"},
		{`{"name":"n","mtu":-1}`, types.ErrInvalidNetworkConfig, "mtu -1, linkMTUOverhead 0: want values >= 0"},
		{`{"name":"n","mtu":1450,"linkMTUOverhead":1400}`, types.ErrInvalidNetworkConfig, "container MTU 50 (mtu 1450 - linkMTUOverhead 1400) is out of range 68..65535"},
		{`{"name":"n","ipam":{"dataDir":"/d"}}`, types.ErrInvalidNetworkConfig, "ipam: no type given"},
		{`{"name":"n","ipam":"host-local"}`, types.ErrDecodingFailure, "cannot unmarshal string"},
		{`{"name":"n","args":{"labels":{"":"x"}}}`, types.ErrInvalidNetworkConfig, `invalid label key ""`},
		{`{"name":"n","args":{"labels":{"a=b":"x"}}}`, types.ErrInvalidNetworkConfig, `invalid label key "a=b"`},
		{`{"name":"n","args":{"labels":{"io.ebpfnet.cni.containerid":"x"}}}`, types.ErrInvalidNetworkConfig, "prefix io.ebpfnet.cni. is reserved"},
		{`{"name":"n","runtimeConfig":{"portMappings":[{"hostPort":0,"containerPort":80}]}}`, types.ErrInvalidNetworkConfig, "ports must be 1..65535"},
		{`{"name":"n","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"protocol":"sctp"}]}}`, types.ErrInvalidNetworkConfig, "protocol must be tcp or udp"},
		{`{"name":"n","runtimeConfig":{"portMappings":[{"hostPort":80,"containerPort":80,"hostIP":"::1"}]}}`, types.ErrInvalidNetworkConfig, "hostIP must be an IPv4 address"},
	} {
		_, err := ParseConfig([]byte(tc.conf))
		requireCode(t, err, tc.code, tc.msg)
	}
}

func TestPortMappings(t *testing.T) {
	conf, err := ParseConfig([]byte(`{"name":"n","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[
		{"hostPort":8080,"containerPort":80,"protocol":"TCP"},
		{"hostPort":53,"containerPort":5353,"protocol":"udp","hostIP":"192.168.50.1"},
		{"hostPort":9000,"containerPort":9000}]}}`))
	require.NoError(t, err)
	require.Equal(t, []Port{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: netip.MustParseAddr("192.168.50.1"), HostPort: 53, ContainerPort: 5353, Protocol: "udp"},
		{HostPort: 9000, ContainerPort: 9000, Protocol: "tcp"},
	}, conf.ports)
	require.Equal(t, "192.168.50.1:53:5353/udp", conf.ports[1].String())

	ag := &fakeAgent{}
	require.NoError(t, publishPorts(ag, api.Endpoint{Name: "c1-eth0"}, conf.ports))
	require.Equal(t, []string{"c1-eth0 8080:80/tcp", "c1-eth0 53:5353/udp 192.168.50.1", "c1-eth0 9000:9000/tcp"}, ag.published)
	require.NoError(t, publishPorts(nil, api.Endpoint{}, nil), "no port mappings: nothing to do")
}

func TestLabels(t *testing.T) {
	conf, err := ParseConfig([]byte(`{"name":"net1","args":{"labels":{"app":"web","tier":"a=b"}}}`))
	require.NoError(t, err)

	labels, err := conf.Labels("cid1", "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=cid1;FOO=bar")
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"app": "web", "tier": "a=b",
		LabelPodNS: "shop", LabelPodName: "web-0",
		LabelContainerID: "cid1", LabelNetwork: "net1",
	}, labels)
	require.Equal(t, []string{"app=web", "io.ebpfnet.cni.containerid=cid1", "io.ebpfnet.cni.network=net1",
		"io.kubernetes.pod.name=web-0", "io.kubernetes.pod.namespace=shop", "tier=a=b"}, labelList(labels))
	require.Equal(t, map[string]string{"app": "web", "tier": "a=b"}, conf.Args.Labels, "config labels not modified")

	labels, err = conf.Labels("cid2", "")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"app": "web", "tier": "a=b", LabelContainerID: "cid2", LabelNetwork: "net1"}, labels)

	_, err = conf.Labels("cid", "K8S_POD_NAME=web-0;FOO=bar")
	requireCode(t, err, types.ErrInvalidEnvironmentVariables, `unknown args ["FOO=bar"]`)
	_, err = conf.Labels("cid", "K8S_POD_NAME")
	requireCode(t, err, types.ErrInvalidEnvironmentVariables, `invalid pair "K8S_POD_NAME"`)
}

func TestEndpointName(t *testing.T) {
	require.Equal(t, "cnitool-1a2b3c4d5e6f708192a3-eth0", EndpointName("cnitool-1a2b3c4d5e6f708192a3", "eth0"))
	long := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // Docker/containerd IDs
	a, b := EndpointName(long, "eth0"), EndpointName(long[:63]+"0", "eth0")
	require.Regexp(t, `^0123456789ab-[0-9a-f]{10}-eth0$`, a)
	require.NotEqual(t, a, b, "same 12-character prefix, different IDs")
	require.NotEqual(t, a, EndpointName(long, "net1"))
	require.Equal(t, a, EndpointName(long, "eth0"), "stable")
	odd := EndpointName("c1", "e@th+0")
	require.Regexp(t, `^c1-[0-9a-f]{10}-e_th_0$`, odd)
	require.NotEqual(t, odd, EndpointName("c1", "e_th_0"))
	for _, n := range []string{a, b, odd, EndpointName(long, "abcdefghijklmno")} {
		require.Regexp(t, agentNameRE, n)
	}
}
