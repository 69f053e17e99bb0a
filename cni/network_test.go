package cni

import (
	"net/netip"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

// TestAddNetwork: the conflist's `network` key picks the ebpfnet network (default: the one
// named as the conflist, else the default network); a second attachment on another network
// is a second interface without a default route.
func TestAddNetwork(t *testing.T) {
	front := api.Network{Name: "front", Subnet: netip.MustParsePrefix("10.43.0.0/16"), VNI: 4096}
	ranges := `,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.43.1.0/24"}]]}`
	cases := []struct {
		name, conf, ifName string
		second             bool   // the container has an interface already
		want               string // network of the request
		ip, address, gw    string
		defaultRoute       bool
	}{
		{"network key, second interface", `,"network":"front"` + ranges, "eth1", true, "front", "10.43.1.5/24", "10.43.1.5/16", "10.43.1.1", false},
		{"conflist name is no network: default", "", "eth0", false, "", "10.42.1.5/24", "10.42.1.5/16", "10.42.1.1", true},
		{"explicit default", `,"network":"default"`, "eth0", false, "", "10.42.1.5/24", "10.42.1.5/16", "10.42.1.1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.ag.networks = []api.Network{front}
			f.ipam.ip = tc.ip
			if tc.second {
				f.ag.eps = []api.Endpoint{{Name: "cid1-eth0", Netns: f.ns}}
			}
			args := f.args("cid1", tc.conf)
			args.IfName = tc.ifName
			require.NoError(t, f.run("ADD", args))
			require.Equal(t, tc.want, f.ag.eps[len(f.ag.eps)-1].Network)
			res, err := current.NewResult(f.out.Bytes())
			require.NoError(t, err)
			r := res.(*current.Result)
			require.Equal(t, tc.address, r.IPs[0].Address.String())
			require.Equal(t, tc.gw, r.IPs[0].Gateway.String())
			require.Equal(t, tc.defaultRoute, len(r.Routes) == 1, "routes %v", r.Routes)
		})
	}

	t.Run("the conflist's name", func(t *testing.T) {
		f := newFixture(t)
		f.ag.networks = []api.Network{{Name: "net1", Subnet: netip.MustParsePrefix("10.45.0.0/16")}}
		f.ipam.ip = "10.45.1.5/24"
		require.NoError(t, f.run("ADD", f.args("cid1", `,"ipam":{"type":"host-local","subnet":"10.45.1.0/24"}`)))
		require.Equal(t, "net1", f.ag.eps[0].Network)
	})
	t.Run("no ranges: this node's slice", func(t *testing.T) {
		f := newFixture(t)
		f.ag.networks = []api.Network{front}
		f.ipam.ip = "10.43.1.2/24"
		require.NoError(t, f.run("ADD", f.args("cid1", `,"network":"front"`)))
		require.JSONEq(t, `{"type":"host-local","ranges":[[{"subnet":"10.43.1.0/24","gateway":"10.43.1.1"}]]}`, ipamOf(t, f.ipam.confs[0]))
		res, err := current.NewResult(f.out.Bytes())
		require.NoError(t, err)
		require.Equal(t, "10.43.1.1", res.(*current.Result).IPs[0].Gateway.String())
	})
	for _, bad := range []struct{ name, conf, want string }{
		{"unknown network", `,"network":"nope"`, `network "nope": no such ebpfnet network`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			f := newFixture(t)
			f.ag.networks = []api.Network{front}
			err := f.run("ADD", f.args("cid1", bad.conf))
			requireCode(t, err, types.ErrInvalidNetworkConfig, bad.want)
			require.Empty(t, f.ag.eps, "nothing attached")
			require.Empty(t, f.ipam.calls, "no address allocated")
		})
	}
}
