package endpoint_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/ebpfnet/ebpfnet/endpoint"
)

// baseConfig returns a valid Config for container ctr.
func baseConfig(t *testing.T, ctr *testNS) endpoint.Config {
	return endpoint.Config{
		NetnsPath:    ctr.path,
		HostIfName:   endpoint.HostIfName(ctr.name),
		Addr:         netip.MustParsePrefix("10.42.1.2/16"),
		Gateway:      netip.MustParseAddr("10.42.0.1"),
		MTU:          1450,
		HostMAC:      mac(t, "02:ee:00:00:00:01"),
		ContainerMAC: mac(t, "02:cc:00:00:00:02"),
	}
}

func TestHostIfName(t *testing.T) {
	a := endpoint.HostIfName("container-a")
	require.Equal(t, a, endpoint.HostIfName("container-a"), "must be stable")
	require.NotEqual(t, a, endpoint.HostIfName("container-b"))
	require.Regexp(t, regexp.MustCompile(`^lxc[0-9a-f]{11}$`), a)
	// sha256("") = e3b0c44298fc1c14...
	require.Equal(t, "lxce3b0c44298f", endpoint.HostIfName(""))
}

func TestCreate(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, ctr)

	res, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)
	require.Equal(t, cfg.HostIfName, res.HostIfName)
	require.Equal(t, cfg.ContainerMAC, res.ContainerMAC)

	// Host side.
	hl := host.mustLink(t, cfg.HostIfName)
	require.Equal(t, "veth", hl.Type())
	require.Equal(t, res.HostIfIndex, hl.Attrs().Index)
	require.Equal(t, 1450, hl.Attrs().MTU)
	require.Equal(t, cfg.HostMAC, hl.Attrs().HardwareAddr)
	require.NotZero(t, hl.Attrs().Flags&net.FlagUp, "host side must be up")
	idx, err := endpoint.Lookup(host.ns, cfg.HostIfName)
	require.NoError(t, err)
	require.Equal(t, res.HostIfIndex, idx)

	// Container side.
	require.Equal(t, []string{"eth0", "lo"}, ctr.linkNames(t), "no temp names left")
	require.NotZero(t, ctr.mustLink(t, "lo").Attrs().Flags&net.FlagUp, "lo must be up")
	cl := ctr.mustLink(t, "eth0")
	require.Equal(t, "veth", cl.Type())
	require.Equal(t, 1450, cl.Attrs().MTU)
	require.Equal(t, cfg.ContainerMAC, cl.Attrs().HardwareAddr)
	require.NotZero(t, cl.Attrs().Flags&net.FlagUp, "eth0 must be up")
	require.Eventually(t, func() bool {
		l, err := ctr.nl.LinkByName("eth0")
		return err == nil && l.Attrs().OperState == netlink.OperUp
	}, 5*time.Second, 50*time.Millisecond, "eth0 carrier")

	addrs, err := ctr.nl.AddrList(cl, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	require.Equal(t, "10.42.1.2/16", addrs[0].IPNet.String())

	requireDefaultRoute(t, ctr, cl, "10.42.0.1")

	// Real traffic: give the host side the gateway IP, ping it from the
	// container and check the container resolved it to HostMAC.
	require.NoError(t, host.nl.AddrAdd(hl, mustAddr(t, "10.42.0.1/16")))
	out, err := ctr.run(t, "ping", "-c", "2", "-i", "0.2", "-W", "1", "-q", "10.42.0.1")
	require.NoError(t, err, out)
	require.Contains(t, out, "2 received")
	neighs, err := ctr.nl.NeighList(cl.Attrs().Index, netlink.FAMILY_V4)
	require.NoError(t, err)
	found := false
	for _, n := range neighs {
		if n.IP.Equal(net.ParseIP("10.42.0.1")) {
			found = true
			require.Equal(t, cfg.HostMAC, n.HardwareAddr)
		}
	}
	require.True(t, found, "neighbor entry for gateway: %v", neighs)
}

// requireDefaultRoute asserts l has a default IPv4 route via gw.
func requireDefaultRoute(t *testing.T, tn *testNS, l netlink.Link, gw string) {
	t.Helper()
	routes, err := tn.nl.RouteList(l, netlink.FAMILY_V4)
	require.NoError(t, err)
	for _, r := range routes {
		isDefault := r.Dst == nil || r.Dst.String() == "0.0.0.0/0"
		if isDefault && r.Gw.Equal(net.ParseIP(gw)) {
			return
		}
	}
	require.Failf(t, "no default route", "via %s in %v", gw, routes)
}

// mustAddr parses a CIDR into a netlink.Addr.
func mustAddr(t *testing.T, cidr string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	require.NoError(t, err)
	return a
}

// TestCreateBigTCP: GSOIPv4MaxSize reaches gso_ipv4_max_size and gro_ipv4_max_size of both
// ends (read back with netlink), and Result reports it; 0 leaves the kernel's 64 KiB.
func TestCreateBigTCP(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, ctr)
	cfg.GSOIPv4MaxSize = endpoint.BigTCPIPv4MaxSize
	res, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)
	if res.GSOIPv4MaxSize == 0 {
		t.Skip("kernel without gso_ipv4_max_size (Linux < 6.3)")
	}
	require.Equal(t, uint32(endpoint.BigTCPIPv4MaxSize), res.GSOIPv4MaxSize)
	for _, l := range []netlink.Link{host.mustLink(t, cfg.HostIfName), ctr.mustLink(t, endpoint.DefaultIfName)} {
		require.Equal(t, uint32(endpoint.BigTCPIPv4MaxSize), l.Attrs().GSOIPv4MaxSize, l.Attrs().Name)
		require.Equal(t, uint32(endpoint.BigTCPIPv4MaxSize), l.Attrs().GROIPv4MaxSize, l.Attrs().Name)
	}

	other := newTestNS(t)
	cfg = baseConfig(t, other)
	res, err = endpoint.Create(host.ns, cfg)
	require.NoError(t, err)
	require.Equal(t, uint32(endpoint.LegacyGSOMaxSize), res.GSOIPv4MaxSize)
}

func TestCreateRandomContainerMAC(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, ctr)
	cfg.ContainerMAC = nil
	cfg.IfName = "net1"

	res, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)
	cl := ctr.mustLink(t, "net1")
	require.Len(t, res.ContainerMAC, 6)
	require.Equal(t, cl.Attrs().HardwareAddr, res.ContainerMAC)
	require.Zero(t, res.ContainerMAC[0]&1, "unicast")
	require.NotEqual(t, cfg.HostMAC, res.ContainerMAC)
}

func TestCreateTwiceSameContainer(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, ctr)
	_, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)
	hostBefore := host.linkNames(t)

	cfg2 := cfg
	cfg2.HostIfName = endpoint.HostIfName("second")
	_, err = endpoint.Create(host.ns, cfg2)
	require.Error(t, err)
	require.Contains(t, err.Error(), `link "eth0" already exists`)
	require.Contains(t, err.Error(), ctr.path)

	require.Equal(t, hostBefore, host.linkNames(t), "no host link leaked")
	require.Equal(t, []string{"eth0", "lo"}, ctr.linkNames(t), "no container link leaked")
}

func TestCreateHostNameTaken(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, c1, c2 := newTestNS(t), newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, c1)
	_, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)

	cfg2 := baseConfig(t, c2)
	cfg2.HostIfName = cfg.HostIfName
	_, err = endpoint.Create(host.ns, cfg2)
	require.ErrorContains(t, err, `host netns: link "`+cfg.HostIfName+`" already exists`)
	require.Equal(t, []string{"lo"}, c2.linkNames(t))
	require.Equal(t, []string{"eth0", "lo"}, c1.linkNames(t), "first endpoint intact")
}

func TestCreateRollsBackOnLateFailure(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	// The container already has a default route, so adding ours fails
	// after the veth pair exists: Create must remove the pair again.
	pre := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "pre0"}}
	require.NoError(t, ctr.nl.LinkAdd(pre))
	pl := ctr.mustLink(t, "pre0")
	require.NoError(t, ctr.nl.AddrAdd(pl, mustAddr(t, "10.99.0.2/24")))
	require.NoError(t, ctr.nl.LinkSetUp(pl))
	gw := net.ParseIP("10.99.0.1")
	require.NoError(t, ctr.nl.RouteAdd(&netlink.Route{LinkIndex: pl.Attrs().Index, Gw: gw}))

	cfg := baseConfig(t, ctr)
	_, err := endpoint.Create(host.ns, cfg)
	require.ErrorContains(t, err, "add default route via 10.42.0.1")
	require.ErrorContains(t, err, "file exists")
	require.Equal(t, []string{"lo"}, host.linkNames(t), "host veth rolled back")
	require.Equal(t, []string{"lo", "pre0"}, ctr.linkNames(t), "container peer rolled back")
}

func TestCreateMissingNetns(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host := newTestNS(t)
	cfg := baseConfig(t, host)
	cfg.NetnsPath = "/var/run/netns/ebpfnet-ut-missing-" + randHex(t, 4)
	_, err := endpoint.Create(host.ns, cfg)
	require.ErrorContains(t, err, `netns "`+cfg.NetnsPath+`": no such file or directory`)
	require.Equal(t, []string{"lo"}, host.linkNames(t))
}

func TestCreateNotANetns(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host := newTestNS(t)
	file := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cfg := baseConfig(t, host)
	cfg.NetnsPath = file
	_, err := endpoint.Create(host.ns, cfg)
	require.ErrorContains(t, err, `netns "`+file+`": not a namespace file`)
}

func TestCreateContainerIsHost(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host := newTestNS(t)
	cfg := baseConfig(t, host)
	_, err := endpoint.Create(host.ns, cfg)
	require.ErrorContains(t, err, "is the host netns")
	require.Equal(t, []string{"lo"}, host.linkNames(t))
}

func TestCreateInvalidConfig(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cases := map[string]struct {
		mutate func(*endpoint.Config)
		want   string
	}{
		"mtu zero":        {func(c *endpoint.Config) { c.MTU = 0 }, "MTU 0 out of range"},
		"mtu huge":        {func(c *endpoint.Config) { c.MTU = 70000 }, "MTU 70000 out of range"},
		"host name empty": {func(c *endpoint.Config) { c.HostIfName = "" }, "HostIfName: empty"},
		"host name long":  {func(c *endpoint.Config) { c.HostIfName = strings.Repeat("x", 16) }, "longer than 15"},
		"ifname slash":    {func(c *endpoint.Config) { c.IfName = "a/b" }, "IfName: interface name"},
		"ipv6 addr":       {func(c *endpoint.Config) { c.Addr = netip.MustParsePrefix("fd00::2/64") }, "not an IPv4 prefix"},
		"no addr":         {func(c *endpoint.Config) { c.Addr = netip.Prefix{} }, "not an IPv4 prefix"},
		"gw outside":      {func(c *endpoint.Config) { c.Gateway = netip.MustParseAddr("10.43.0.1") }, "outside Addr prefix 10.42.0.0/16"},
		"gw is addr":      {func(c *endpoint.Config) { c.Gateway = c.Addr.Addr() }, "equals Addr"},
		"no host mac":     {func(c *endpoint.Config) { c.HostMAC = nil }, "HostMAC: MAC"},
		"multicast mac":   {func(c *endpoint.Config) { c.ContainerMAC = mac(t, "01:00:5e:00:00:01") }, "ContainerMAC: MAC 01:00:5e:00:00:01 is multicast"},
		"no netns path":   {func(c *endpoint.Config) { c.NetnsPath = "" }, "NetnsPath is empty"},
		"gso too small":   {func(c *endpoint.Config) { c.GSOIPv4MaxSize = 1500 }, "GSOIPv4MaxSize 1500 out of range 65536..524280"},
		"gso too big":     {func(c *endpoint.Config) { c.GSOIPv4MaxSize = 1 << 20 }, "GSOIPv4MaxSize 1048576 out of range"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig(t, ctr)
			tc.mutate(&cfg)
			_, err := endpoint.Create(host.ns, cfg)
			require.ErrorContains(t, err, "invalid config")
			require.ErrorContains(t, err, tc.want)
		})
	}
	require.Equal(t, []string{"lo"}, host.linkNames(t))
	require.Equal(t, []string{"lo"}, ctr.linkNames(t))
}

func TestDelete(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host, ctr := newTestNS(t), newTestNS(t)
	cfg := baseConfig(t, ctr)
	_, err := endpoint.Create(host.ns, cfg)
	require.NoError(t, err)

	require.NoError(t, endpoint.Delete(host.ns, cfg.HostIfName))
	require.Equal(t, []string{"lo"}, host.linkNames(t))
	require.Equal(t, []string{"lo"}, ctr.linkNames(t), "peer goes with the host side")
	_, err = endpoint.Lookup(host.ns, cfg.HostIfName)
	require.ErrorIs(t, err, endpoint.ErrNotFound)
	require.ErrorContains(t, err, cfg.HostIfName)

	require.NoError(t, endpoint.Delete(host.ns, cfg.HostIfName), "idempotent")
}

func TestDeleteRefusesNonVeth(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	host := newTestNS(t)
	require.NoError(t, host.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br7"}}))

	err := endpoint.Delete(host.ns, "br7")
	require.ErrorContains(t, err, "link is a bridge, not a veth")
	host.mustLink(t, "br7")

	_, err = endpoint.Lookup(host.ns, "br7")
	require.Error(t, err)
	require.False(t, errors.Is(err, endpoint.ErrNotFound))
}
