package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// Kernel baseline parameters (Rancher's VXLAN backend: device vtep1042, VNI 1042, UDP 4789,
// VTEP MAC 0e:00:<host IPv4 bytes>).
const (
	baselineVNI    = 1042
	baselineVXPort = 4789
	baselineVTEP   = "vtep1042"
	// baselineCluster is the cluster CIDR; each host's bridge owns its /24 of it.
	baselineCluster = "10.42.0.0/16"
)

// NewKernel builds the kernel baseline in a new bed with the given prefix: the same switched
// 2-host underlay and outside machine as the ebpfnet topology; on each host the CNI bridge,
// host-local and portmap plugins (driven by cnitool, as a user would) attach two containers
// to a Linux bridge cni0 with MTU 1450; a kernel VXLAN device between the hosts with static
// FDB and neighbour entries and a route per peer pod CIDR (Flannel's layout); iptables
// MASQUERADE for traffic leaving the cluster; nginx in c2 published as h1:8080 through the
// portmap plugin's DNAT. Every link, route, sysctl and iptables rule is inside the bed's
// namespaces; libcni's result cache files are removed by Close.
func NewKernel(ctx context.Context, prefix string, cni CNI) (_ *Topology, err error) {
	bed, err := testbed.New(prefix)
	if err != nil {
		return nil, err
	}
	netName := "ebpfnet-bench-" + prefix
	t := &Topology{Name: TopoKernel, Bed: bed}
	t.close = func() error { return closeAll(bed.Close, func() error { return removeCNICache(netName) }) }
	defer func() {
		if err != nil {
			err = fmt.Errorf("kernel baseline: %w", err)
			_ = t.Close()
		}
	}()
	c, err := testbed.NewSwitchedCluster(bed, "", 2) // no agents: the binary is never run
	if err != nil {
		return nil, err
	}
	if err := c.AddOutside("out", OutsideIP); err != nil {
		return nil, err
	}
	type ctr struct {
		ns   string
		path string
		ip   netip.Addr
	}
	var ctrs []ctr
	var nets []*hostNet
	for i, h := range c.Hosts {
		n := &hostNet{cni: cni, name: netName, confDir: filepath.Join(bed.TempDir(), "cni-"+h.Name),
			subnet: h.PodCIDR, gateway: h.PodCIDR.Addr().Next()}
		if err := n.writeConflist(filepath.Join(bed.TempDir(), "ipam-"+h.Name), testbed.UnderlayMTU-50); err != nil {
			return nil, err
		}
		nets = append(nets, n)
		if err := kernelHostSetup(ctx, bed, h.Name); err != nil {
			return nil, err
		}
		for k := 1; k <= 2; k++ {
			name := fmt.Sprintf("c%d", 2*i+k)
			path, err := bed.Netns(name)
			if err != nil {
				return nil, err
			}
			var ports []portMapping
			if name == "c2" {
				ports = []portMapping{{HostPort: WebHostPort, ContainerPort: WebContainerPort, Protocol: "tcp"}}
			}
			ip, err := n.add(ctx, bed, h.Name, path, ports)
			if err != nil {
				return nil, err
			}
			ctrs = append(ctrs, ctr{name, path, ip})
		}
	}
	for _, h := range c.Hosts {
		if err := vxlanSetup(ctx, bed, h, c.Hosts); err != nil {
			return nil, err
		}
	}
	h1 := c.Hosts[0]
	t.Same = &Pair{Client: ctrs[0].ns, Server: ctrs[1].ns, ServerIP: ctrs[1].ip}
	t.Cross = Pair{Client: ctrs[0].ns, Server: ctrs[2].ns, ServerIP: ctrs[2].ip}
	t.Web = Web{Server: ctrs[1].ns, Listen: netip.AddrPortFrom(ctrs[1].ip, WebContainerPort),
		Client: "out", Via: netip.AddrPortFrom(h1.UnderlayIP, WebHostPort)}
	if _, err := startNginx(ctx, bed, t.Web); err != nil {
		return nil, err
	}
	if err := tuneClient(ctx, bed, "out"); err != nil {
		return nil, err
	}
	t.Ports = &kernelPorts{bed: bed, host: h1.Name, net: nets[0], filler: ctrs[0].ip,
		web: ctrs[1].ip, webPath: ctrs[1].path, total: 1}
	// The routing-mesh measure: kube-proxy's rules on h1, nginx in c3 and c4 on h2.
	if t.Services, err = newKernelServices(ctx, bed, h1.Name, []string{ctrs[2].ns, ctrs[3].ns}, []netip.Addr{ctrs[2].ip, ctrs[3].ip}); err != nil {
		return nil, err
	}
	t.Mesh = &Web{Client: "out", Via: netip.AddrPortFrom(h1.UnderlayIP, MeshPort)}
	t.Flood, err = kernelFlood(ctx, bed, c.Hosts[1])
	return t, err
}

// kernelHostSetup turns on forwarding and adds the egress MASQUERADE rule in host ns.
func kernelHostSetup(ctx context.Context, bed *testbed.Bed, ns string) error {
	for _, argv := range [][]string{
		{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		{"iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", baselineCluster, "!", "-d", baselineCluster, "-j", "MASQUERADE"},
	} {
		if _, err := bed.Run(ctx, ns, argv...); err != nil {
			return err
		}
	}
	return nil
}

// vtepMAC is Rancher's VTEP MAC of a host: 0e:00 and its underlay IPv4 bytes.
func vtepMAC(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("0e:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// vxlanSetup creates h's VXLAN device (no learning) with address <pod CIDR>.0/32 and, for
// every other host, a permanent FDB entry (its VTEP MAC -> its underlay IP), a permanent
// neighbour entry (its .0 address -> its VTEP MAC) and a route to its pod CIDR via that
// address.
func vxlanSetup(ctx context.Context, bed *testbed.Bed, h *testbed.Host, all []*testbed.Host) error {
	cmds := [][]string{
		{"ip", "link", "add", baselineVTEP, "type", "vxlan", "id", fmt.Sprint(baselineVNI), "local", h.UnderlayIP.String(),
			"dev", "ul0", "dstport", fmt.Sprint(baselineVXPort), "nolearning"},
		{"ip", "link", "set", baselineVTEP, "address", vtepMAC(h.UnderlayIP), "mtu", fmt.Sprint(testbed.UnderlayMTU - 50), "up"},
		{"ip", "addr", "add", netip.PrefixFrom(h.PodCIDR.Addr(), 32).String(), "dev", baselineVTEP},
	}
	for _, o := range all {
		if o == h {
			continue
		}
		mac, gw := vtepMAC(o.UnderlayIP), o.PodCIDR.Addr().String()
		cmds = append(cmds,
			[]string{"bridge", "fdb", "append", mac, "dev", baselineVTEP, "dst", o.UnderlayIP.String(), "self", "permanent"},
			[]string{"ip", "neigh", "replace", gw, "lladdr", mac, "dev", baselineVTEP, "nud", "permanent"},
			[]string{"ip", "route", "add", o.PodCIDR.String(), "via", gw, "dev", baselineVTEP, "onlink"},
		)
	}
	for _, argv := range cmds {
		if _, err := bed.Run(ctx, h.Name, argv...); err != nil {
			return err
		}
	}
	return nil
}

// kernelPorts publishes ports the iptables way on the baseline's h1.
type kernelPorts struct {
	bed     *testbed.Bed
	host    string // host namespace
	net     *hostNet
	filler  netip.Addr // container the filler ports go to (c1)
	web     netip.Addr // nginx's container (c2)
	webPath string     // its netns path
	total   int        // ports published so far
}

// fillerID is the container ID the filler mappings are filed under.
const fillerID = "bench-filler"

// GrowTo installs the missing filler mappings in portmap's layout with one iptables-restore
// --noflush (what a runtime rewriting its rules in bulk would do; portmap itself would run
// several iptables commands per mapping).
func (k *kernelPorts) GrowTo(ctx context.Context, total int) (time.Duration, error) {
	if total <= k.total {
		return 0, nil
	}
	lo, hi := FillerBasePort+k.total-1, FillerBasePort+total-2
	rules := fillerRules(k.net.name, fillerID, k.net.subnet, k.filler, lo, hi, k.total == 1)
	d, _, err := timedExecIn(ctx, k.bed, k.host, nil, []byte(rules), "iptables-restore", "-w", "--noflush")
	if err != nil {
		return 0, err
	}
	k.total = total
	return d, nil
}

// AddOne times publishing one more port to nginx's container two ways, each undone at once:
// the portmap plugin's ADD (as a runtime calls it for a new mapping; DEL afterwards) and a
// single `iptables -t nat -A` DNAT rule (the least any iptables-based tool does).
func (k *kernelPorts) AddOne(ctx context.Context, i int) (map[string]time.Duration, error) {
	port := AddPortBase + i
	id := fmt.Sprintf("bench-add-%d", i)
	conf := k.net.portmapConf(k.webPath, k.web, []portMapping{{HostPort: port, ContainerPort: WebContainerPort, Protocol: "tcp"}})
	plugin := filepath.Join(k.net.cni.PluginDir, "portmap")
	dPM, _, err := timedExecIn(ctx, k.bed, k.host, k.net.portmapEnv("ADD", id, k.webPath), conf, plugin)
	if err != nil {
		return nil, err
	}
	if _, _, err := timedExecIn(ctx, k.bed, k.host, k.net.portmapEnv("DEL", id, k.webPath), conf, plugin); err != nil {
		return nil, err
	}
	rule := []string{portmapDNATChain, "-p", "tcp", "-m", "tcp", "--dport", fmt.Sprint(port),
		"-j", "DNAT", "--to-destination", netip.AddrPortFrom(k.web, WebContainerPort).String()}
	dIPT, _, err := timedExecIn(ctx, k.bed, k.host, nil, nil, append([]string{"iptables", "-w", "-t", "nat", "-A"}, rule...)...)
	if err != nil {
		return nil, err
	}
	if _, _, err := timedExecIn(ctx, k.bed, k.host, nil, nil, append([]string{"iptables", "-w", "-t", "nat", "-D"}, rule...)...); err != nil {
		return nil, err
	}
	return map[string]time.Duration{AddPortmap: dPM, AddIptables: dIPT}, nil
}
