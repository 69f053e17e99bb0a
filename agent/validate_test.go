package agent

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

func TestParsers(t *testing.T) {
	_, err := parseIPv4("IP", "10.42.1.256")
	require.EqualError(t, err, `invalid IP "10.42.1.256": want an IPv4 address such as 10.42.1.2`)
	ip, err := parseIPv4("IP", " 10.42.1.2 ")
	require.NoError(t, err)
	require.Equal(t, netip.MustParseAddr("10.42.1.2"), ip)

	_, err = parseCIDR("peer CIDR", "10.42.2.1/24")
	require.EqualError(t, err, `invalid peer CIDR "10.42.2.1/24": host bits set (did you mean 10.42.2.0/24?)`)
	_, err = parseCIDR("peer CIDR", "fd00::/64")
	require.ErrorContains(t, err, "want an IPv4 CIDR")

	mac, err := parseMAC("")
	require.NoError(t, err)
	require.Nil(t, mac)
	_, err = parseMAC("02:00:00:00:00")
	require.ErrorContains(t, err, "want six hex bytes")

	labels, err := parseLabels([]string{"app=web", "tier=", "app=web"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"app": "web", "tier": ""}, labels)
	_, err = parseLabels([]string{"app=web", "app=db"})
	require.EqualError(t, err, `label "app" given twice with different values`)
	_, err = parseLabels([]string{"=x"})
	require.ErrorContains(t, err, "want key=value")

	_, err = parseName("-x")
	require.ErrorContains(t, err, "invalid endpoint name")
}

func TestLabelsKeyIsCanonical(t *testing.T) {
	key := labelsKey(map[string]string{"tier": "front", "app": "web,x=y"})
	require.Equal(t, `{"app":"web,x=y","tier":"front"}`, key)
	require.Equal(t, "{}", labelsKey(nil))
	back, err := labelsOf(key)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"tier": "front", "app": "web,x=y"}, back)
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.42.1.0/24": "10.42.1.255",
		"10.42.0.0/16": "10.42.255.255",
		"10.42.1.0/30": "10.42.1.3",
		"10.40.0.0/13": "10.47.255.255",
	} {
		require.Equal(t, want, lastAddr(netip.MustParsePrefix(in)).String(), in)
	}
}

func TestRouterMAC(t *testing.T) {
	require.Equal(t, "0e:00:ac:1f:00:02", RouterMAC(netip.MustParseAddr("172.31.0.2")).String())
}

func TestIdentityLabelsLeavePerInstanceLabelsOut(t *testing.T) {
	a := map[string]string{"app": "web", "io.kubernetes.pod.name": "web-1", "io.ebpfnet.cni.containerid": "abc"}
	b := map[string]string{"app": "web", "io.kubernetes.pod.name": "web-2", "io.ebpfnet.cni.containerid": "def"}
	require.Equal(t, labelsKey(identityLabels(a, "")), labelsKey(identityLabels(b, "")), "two pods of one group share an identity")
	require.Equal(t, map[string]string{"app": "web"}, identityLabels(a, ""))
	require.Len(t, a, 3, "the endpoint keeps all its labels")
}

func TestIdentityLabelsPerNetwork(t *testing.T) {
	l := map[string]string{"app": "web"}
	require.Equal(t, l, identityLabels(l, api.DefaultNetwork), "the default network's identities are those of before networks")
	require.Equal(t, map[string]string{"app": "web", NetworkLabel: "front"}, identityLabels(l, "front"))
	require.NotEqual(t, labelsKey(identityLabels(l, "front")), labelsKey(identityLabels(l, "back")), "one label set on two networks: two identities")
	_, err := parseLabels([]string{NetworkLabel + "=front"})
	require.ErrorContains(t, err, "reserved")
}

func TestCheckPeerHost(t *testing.T) {
	cluster := netip.MustParsePrefix("10.42.0.0/16")
	for host, want := range map[string]string{
		"0.0.0.0":         `peer host IP 0.0.0.0 is a "this network" address (RFC 1122)`,
		"255.255.255.255": "peer host IP 255.255.255.255 is a reserved or broadcast address",
		"240.0.0.1":       "peer host IP 240.0.0.1 is a reserved or broadcast address",
		"127.0.0.1":       "peer host IP 127.0.0.1 is a loopback address",
		"127.1.2.3":       "peer host IP 127.1.2.3 is a loopback address",
		"224.0.0.1":       "peer host IP 224.0.0.1 is a multicast address",
		"239.255.0.9":     "peer host IP 239.255.0.9 is a multicast address",
		"169.254.1.1":     "peer host IP 169.254.1.1 is a link-local address",
		"10.42.1.2":       "peer host IP 10.42.1.2 is inside the cluster CIDR 10.42.0.0/16 (a container address)",
	} {
		err := checkPeerHost(netip.MustParseAddr(host), cluster)
		require.ErrorContains(t, err, want, host)
		require.ErrorContains(t, err, "want a cluster host's", host)
	}
	for _, host := range []string{"172.31.0.2", "192.168.50.2", "10.43.0.1", "223.255.255.254"} {
		require.NoError(t, checkPeerHost(netip.MustParseAddr(host), cluster), host)
	}
}

// TestLabelLimits (issue 10 item 7): label keys and values are bounded as Kubernetes bounds
// them, with a clear error; on main a 70 KB label was accepted.
func TestLabelLimits(t *testing.T) {
	long := strings.Repeat("a", 70*1024)
	for _, tc := range []struct{ label, err string }{
		{"app=" + long, "invalid value of label app"},
		{long + "=x", "invalid label key"},
		{strings.Repeat("p", 254) + "/app=x", "invalid label key"},
		{"app=" + strings.Repeat("v", 64), "must be no more than 63 bytes"},
		{"app=web db", "invalid value of label app"},
		{"-app=x", "invalid label key"},
		{"io.ebpfnet.cni.containerid=" + strings.Repeat("f", 254), "at most 253"},
	} {
		_, err := parseLabels([]string{tc.label})
		require.ErrorContains(t, err, tc.err, abbrev(tc.label))
		require.Less(t, len(err.Error()), 400, "the error quotes a bounded part of the label")
	}
	ok, err := parseLabels([]string{"app=" + strings.Repeat("v", 63), "example.com/tier=front", "io.ebpfnet.cni.containerid=" + strings.Repeat("f", 64), "empty="})
	require.NoError(t, err)
	require.Len(t, ok, 4)
}
