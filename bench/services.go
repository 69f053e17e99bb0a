package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// Routing-mesh layout, identical for ebpfnet and the kernel baseline: a service whose mesh
// port (kube-proxy's NodePort) on h1 balances over two nginx backends on h2, and filler
// services on the following ports with the same backends.
const (
	MeshPort        = 30080 // the measured service's mesh port on h1
	meshFillerPort  = 30081 // first filler service's mesh port
	meshBackendPort = 80    // the backends' port (nginx)
)

// ServiceCounts are the service counts the mesh measure runs at.
var ServiceCounts = []int{1, 1000}

// meshEtcdIP is where the mesh topology's etcd listens (on the underlay switch).
var meshEtcdIP = netip.MustParseAddr("172.31.0.254")

// MeshServices is how a topology adds services balanced over the mesh backends.
type MeshServices interface {
	// GrowTo adds filler services until total services exist (the measured one included)
	// and returns how long it took. total never shrinks between calls.
	GrowTo(ctx context.Context, total int) (time.Duration, error)
}

// MeshConnMeasureID and MeshP99MeasureID are the IDs of new conn/s and connect p99 through the
// routing mesh with n services.
func MeshConnMeasureID(n int) string { return "mesh-conn-" + itoa(n) }
func MeshP99MeasureID(n int) string  { return "mesh-p99-" + itoa(n) }

// meshMeasures are the mesh rows of the table.
func meshMeasures() []Measure {
	var ms []Measure
	for _, n := range ServiceCounts {
		s := groupDigits(n) + " service"
		if n > 1 {
			s += "s"
		}
		ms = append(ms,
			Measure{ID: MeshConnMeasureID(n), Title: "new conn/s via the routing mesh to a remote backend, " + s, Unit: "conn/s", Higher: true},
			Measure{ID: MeshP99MeasureID(n), Title: "connect p99 via the routing mesh, " + s, Unit: "us"})
	}
	return ms
}

// NewEbpfnetServices builds the ebpfnet topology of the mesh measure in a new bed: a switched
// 2-host cluster on an etcd store (services see the endpoints of every host only there), an
// outside machine, nginx in web1 and web2 on h2 (app=web), and `ebpfnet service add web
// --port 80/tcp --selector app=web --publish 30080` on h1. Only Mesh and Services are set.
func NewEbpfnetServices(ctx context.Context, prefix, binary string) (_ *Topology, err error) {
	bed, err := testbed.New(prefix)
	if err != nil {
		return nil, err
	}
	t := &Topology{Name: TopoEbpfnet, Bed: bed, close: bed.Close}
	defer func() {
		if err != nil {
			err = fmt.Errorf("ebpfnet services topology: %w", err)
			_ = t.Close()
		}
	}()
	c, err := testbed.NewSwitchedCluster(bed, binary, 2)
	if err != nil {
		return nil, err
	}
	t.close = func() error { return closeAll(c.Close, bed.Close) }
	if err := c.AddOutside("out", OutsideIP); err != nil {
		return nil, err
	}
	if _, err := bed.Run(ctx, "sw", "ip", "addr", "add", netip.PrefixFrom(meshEtcdIP, 24).String(), "dev", "br0"); err != nil {
		return nil, err
	}
	etcd, err := testbed.StartEtcd(testbed.EtcdOptions{Bed: bed, Netns: "sw", IP: meshEtcdIP})
	if err != nil {
		return nil, err
	}
	t.close = func() error { return closeAll(c.Close, etcd.Close, bed.Close) }
	for _, h := range c.Hosts {
		h.PodCIDR = netip.Prefix{}
		if err := c.StartAgent(h, "--store", "etcd", "--etcd-endpoints", etcd.URL(), "--node-name", h.Name); err != nil {
			return nil, err
		}
	}
	h1, h2 := c.Hosts[0], c.Hosts[1]
	st, err := client.NewClient(h2.Socket).Status()
	if err != nil {
		return nil, err
	}
	ip := st.Node.PodCIDR.Addr().Next()
	var backends []netip.Addr
	for _, name := range []string{"web1", "web2"} {
		ip = ip.Next()
		if _, err := c.AddContainer(h2, name, ip, "app=web"); err != nil {
			return nil, err
		}
		w := Web{Server: name, Listen: netip.AddrPortFrom(ip, meshBackendPort)}
		if _, err := startNginx(ctx, bed, w); err != nil {
			return nil, err
		}
		backends = append(backends, ip)
	}
	s := &ebpfnetServices{api: client.NewClient(h1.Socket), total: 1}
	if _, err := s.api.AddService(s.request("web", MeshPort)); err != nil {
		return nil, err
	}
	if err := waitMeshBackends(ctx, c, h1, len(backends)); err != nil {
		return nil, err
	}
	if err := tuneClient(ctx, bed, "out"); err != nil {
		return nil, err
	}
	t.Mesh = &Web{Client: "out", Via: netip.AddrPortFrom(h1.UnderlayIP, MeshPort)}
	t.Services = s
	return t, nil
}

// waitMeshBackends waits until h's agent balances the service over n backends (the other
// host's endpoints arrive through the store), within 20 s.
func waitMeshBackends(ctx context.Context, c *testbed.Cluster, h *testbed.Host, n int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := c.CLI(h, "service", "inspect", "web", "-o", "json")
		var info api.ServiceInfo
		if err == nil && json.Unmarshal([]byte(out), &info) == nil && len(info.Backends) == n {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("service web on %s: want %d backends, got %q (%v)", h.Name, n, strings.TrimSpace(out), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ebpfnetServices adds services through the agent's API.
type ebpfnetServices struct {
	api   *client.Client
	total int
}

func (s *ebpfnetServices) request(name string, port int) api.ServiceRequest {
	return api.ServiceRequest{Name: name, Port: fmt.Sprintf("%d/tcp", meshBackendPort), Selector: "app=web", Publish: uint16(port)}
}

// GrowTo adds filler services fill-<i> with mesh ports from meshFillerPort.
func (s *ebpfnetServices) GrowTo(_ context.Context, total int) (time.Duration, error) {
	start := time.Now()
	for ; s.total < total; s.total++ {
		i := s.total - 1
		if _, err := s.api.AddService(s.request(fmt.Sprintf("fill-%d", i), meshFillerPort+i)); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// kubeProxyRules is iptables-restore input (--noflush) for kube-proxy's iptables mode
// (pkg/proxy/iptables/proxier.go) on one node: services svc0..svcN-1 with ClusterIPs
// 10.43.x.y and NodePorts from MeshPort, each balanced with `statistic --mode random` over
// the backends; NodePort traffic is marked and masqueraded (externalTrafficPolicy: Cluster,
// the default) so replies come back through this node. KUBE-SERVICES comes first in PREROUTING
// (before portmap's chain of the published-port measure). Service i's ClusterIP rule goes at the
// top of KUBE-SERVICES, whose last rule sends local destinations to KUBE-NODEPORTS, so a
// NodePort packet walks every ClusterIP rule first, as with kube-proxy. base declares the
// common chains (first call only).
func kubeProxyRules(from, to int, backends []netip.Addr, base bool) string {
	var b strings.Builder
	b.WriteString("*nat\n")
	if base {
		b.WriteString(":KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n" +
			"-I PREROUTING 1 -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n" +
			"-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n" +
			"-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n" +
			"-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n" +
			"-A KUBE-POSTROUTING -j MASQUERADE\n" +
			"-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n")
	}
	for i := from; i < to; i++ {
		svc := fmt.Sprintf("KUBE-SVC-%05d", i)
		vip := fmt.Sprintf("10.43.%d.%d", (i+1)/256, (i+1)%256)
		fmt.Fprintf(&b, ":%s - [0:0]\n", svc)
		fmt.Fprintf(&b, "-I KUBE-SERVICES 1 -d %s/32 -p tcp -m tcp --dport %d -j %s\n", vip, meshBackendPort, svc)
		fmt.Fprintf(&b, "-A KUBE-NODEPORTS -p tcp -m tcp --dport %d -j KUBE-MARK-MASQ\n", MeshPort+i)
		fmt.Fprintf(&b, "-A KUBE-NODEPORTS -p tcp -m tcp --dport %d -j %s\n", MeshPort+i, svc)
		for k, be := range backends {
			sep := fmt.Sprintf("KUBE-SEP-%05d-%d", i, k)
			fmt.Fprintf(&b, ":%s - [0:0]\n", sep)
			if left := len(backends) - k; left > 1 {
				fmt.Fprintf(&b, "-A %s -m statistic --mode random --probability %.5f -j %s\n", svc, 1/float64(left), sep)
			} else {
				fmt.Fprintf(&b, "-A %s -j %s\n", svc, sep)
			}
			fmt.Fprintf(&b, "-A %s -p tcp -m tcp -j DNAT --to-destination %s\n", sep, netip.AddrPortFrom(be, meshBackendPort))
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// kernelServices adds kube-proxy-style services on the kernel baseline's h1.
type kernelServices struct {
	bed      *testbed.Bed
	host     string
	backends []netip.Addr
	total    int
}

// newKernelServices starts nginx on the backends (in namespaces servers) and installs the
// measured service's rules on host.
func newKernelServices(ctx context.Context, bed *testbed.Bed, host string, servers []string, backends []netip.Addr) (*kernelServices, error) {
	for i, ns := range servers {
		if _, err := startNginx(ctx, bed, Web{Server: ns, Listen: netip.AddrPortFrom(backends[i], meshBackendPort)}); err != nil {
			return nil, err
		}
	}
	k := &kernelServices{bed: bed, host: host, backends: slices.Clone(backends)}
	_, err := k.GrowTo(ctx, 1)
	return k, err
}

// GrowTo installs the missing services with one iptables-restore --noflush.
func (k *kernelServices) GrowTo(ctx context.Context, total int) (time.Duration, error) {
	if total <= k.total {
		return 0, nil
	}
	d, _, err := timedExecIn(ctx, k.bed, k.host, nil, []byte(kubeProxyRules(k.total, total, k.backends, k.total == 0)),
		"iptables-restore", "-w", "--noflush")
	if err != nil {
		return 0, err
	}
	k.total = total
	return d, nil
}

// connectP99 dials via from netns ns n times in a row and returns the 99th percentile of the
// time connect() took, in µs (each connection is closed at once).
func connectP99(bed *testbed.Bed, ns string, via netip.AddrPort, n int) (float64, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		conn, err := bed.DialTCP(ns, via, 2*time.Second)
		if err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
		conn.Close()
	}
	slices.Sort(ds)
	return float64(ds[(len(ds)*99)/100]) / float64(time.Microsecond), nil
}

// meshConns measures new conn/s (wrk, a new connection per request) and connect p99 through
// the mesh port at each of ServiceCounts services, topologies interleaved.
func meshConns(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	for _, n := range ServiceCounts {
		for _, t := range topos {
			d, err := t.Services.GrowTo(ctx, n)
			if err != nil {
				return fmt.Errorf("%s: %d services: %w", t.Name, n, err)
			}
			if d > 0 {
				logf(cfg.Log, "  %-20s %-8s %s services installed in %.1f ms", "services", t.Name, groupDigits(n), ms(d))
			}
		}
		conn, p99 := MeshConnMeasureID(n), MeshP99MeasureID(n)
		for run := 0; run < cfg.Runs; run++ {
			for _, t := range rotate(topos, run) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := wrkNewConns(ctx, t.Bed, *t.Mesh, cfg.ConnDuration)
				if err == nil {
					var us float64
					if us, err = connectP99(t.Bed, t.Mesh.Client, t.Mesh.Via, meshDials(cfg)); err == nil {
						res.Add(conn, t.Name, r.PerSec)
						res.Add(p99, t.Name, us)
						logf(cfg.Log, "  %-20s run %d/%d %-8s %.0f conn/s, connect p99 %.0f us (%d socket errors)",
							"mesh "+groupDigits(n)+" svc", run+1, cfg.Runs, t.Name, r.PerSec, us, r.SocketErrors)
						continue
					}
				}
				res.Fail(conn, t.Name, err)
				res.Fail(p99, t.Name, err)
				logf(cfg.Log, "  %-20s run %d/%d %-8s FAILED: %v", "mesh "+groupDigits(n)+" svc", run+1, cfg.Runs, t.Name, err)
			}
		}
	}
	return nil
}

// meshDials is how many connections connectP99 times: 2,000, 200 in smoke mode.
func meshDials(cfg Config) int {
	if cfg.Mode == "smoke" {
		return 200
	}
	return 2000
}
