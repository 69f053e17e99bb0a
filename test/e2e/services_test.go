package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// serviceBackend serves TCP on :80 in container ct: each connection answers every line with
// "<ct name> <client address>", until the client closes it. Closing the returned listener stops
// accepting.
func serviceBackend(t *testing.T, c *testbed.Cluster, ct *testbed.Container) net.Listener {
	t.Helper()
	l, err := c.Bed.ListenTCP(ct.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := fmt.Fprintf(conn, "%s %s\n", ct.Name, conn.RemoteAddr()); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l
}

// svcConn is a client connection to a service, the backend that answered it and the client
// address that backend saw.
type svcConn struct {
	conn    net.Conn
	r       *bufio.Reader
	backend string
	client  netip.Addr
}

// ask sends a line and returns the answer's two fields: backend name and the client address
// the backend saw.
func (s *svcConn) ask() (string, string, error) {
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(s.conn, "hello"); err != nil {
		return "", "", err
	}
	line, err := s.r.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	name, addr, _ := strings.Cut(strings.TrimSpace(line), " ")
	return name, addr, nil
}

// dialService opens n connections from client to vip:80 and asks each once; it requires that
// the backend saw the client's own address.
func dialService(t *testing.T, c *testbed.Cluster, client *testbed.Container, vip netip.Addr, n int) []*svcConn {
	t.Helper()
	return dialFrom(t, c, client.Name, client.IP, netip.AddrPortFrom(vip, 80), n)
}

// dialFrom opens n connections from netns ns (address from) to to and asks each once; it
// requires that the backend saw from as the client's address.
func dialFrom(t *testing.T, c *testbed.Cluster, ns string, from netip.Addr, to netip.AddrPort, n int) []*svcConn {
	t.Helper()
	conns := dialAny(t, c, ns, to, n)
	for _, s := range conns {
		require.Equal(t, from, s.client, "backend %s sees the client's address", s.backend)
	}
	return conns
}

// dialAny opens n connections from netns ns to to and asks each once, recording the backend
// and the client address it saw.
func dialAny(t *testing.T, c *testbed.Cluster, ns string, to netip.AddrPort, n int) []*svcConn {
	t.Helper()
	out := make([]*svcConn, 0, n)
	for range n {
		conn, err := c.Bed.DialTCP(ns, to, 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		s := &svcConn{conn: conn, r: bufio.NewReader(conn)}
		name, addr, err := s.ask()
		require.NoError(t, err)
		ap, err := netip.ParseAddrPort(addr)
		require.NoError(t, err, "backend %s saw %q", name, addr)
		s.backend, s.client = name, ap.Addr()
		out = append(out, s)
	}
	return out
}

func share(conns []*svcConn) map[string]int {
	n := map[string]int{}
	for _, s := range conns {
		n[s.backend]++
	}
	return n
}

// waitBackends waits until h's agent lists want backends for svc.
func waitBackends(t *testing.T, c *testbed.Cluster, h *testbed.Host, svc string, want int) api.ServiceInfo {
	t.Helper()
	var info api.ServiceInfo
	require.Eventually(t, func() bool {
		out, err := c.CLI(h, "service", "inspect", svc, "-o", "json")
		if err != nil || json.Unmarshal([]byte(out), &info) != nil {
			return false
		}
		return len(info.Backends) == want
	}, 15*time.Second, 100*time.Millisecond, "%s: %d backends of %s", h.Name, want, svc)
	return info
}

// backendCtr is a backend container and the listener of its serviceBackend.
type backendCtr struct {
	*testbed.Container
	Listener net.Listener
}

// newServiceCluster is a 3-host etcd cluster of newMeshPortCluster with backends web1 (h1),
// web2 and web3 (h2) labelled app=web, each serving serviceBackend on :80.
func newServiceCluster(t *testing.T) (*etcdCluster, []*backendCtr) {
	t.Helper()
	ec := newMeshPortCluster(t)
	var backends []*backendCtr
	for i, at := range []struct {
		h *testbed.Host
		n int
	}{{ec.Hosts[0], 2}, {ec.Hosts[1], 2}, {ec.Hosts[1], 3}} {
		ct, err := ec.AddContainer(at.h, fmt.Sprintf("web%d", i+1), podIP(at.h, at.n), "app=web")
		require.NoError(t, err)
		backends = append(backends, &backendCtr{Container: ct, Listener: serviceBackend(t, ec.Cluster, ct)})
	}
	return ec, backends
}

// newMeshPortCluster is a meshed 3-host etcd cluster whose agents translate routing-mesh
// clients' source ports (--mesh-port-range 1024-65535): the tests' clients reach one backend
// through several entry hosts from one address, whose ports would otherwise collide there.
func newMeshPortCluster(t *testing.T) *etcdCluster {
	t.Helper()
	ec := newEtcdCluster(t, false, false)
	ec.AgentArgs = append(ec.AgentArgs, "--mesh-port-range", "1024-65535")
	for _, h := range ec.Hosts {
		require.NoError(t, ec.startAgent(h))
	}
	ec.meshed(t)
	return ec
}

// serviceClient is a container name labelled app=client at the n-th address of h's pod CIDR.
func serviceClient(t *testing.T, c *testbed.Cluster, h *testbed.Host, name string, n int) *testbed.Container {
	t.Helper()
	ct, err := c.AddContainer(h, name, podIP(h, n), "app=client")
	require.NoError(t, err)
	return ct
}

// podIP is the n-th address of h's pod CIDR.
func podIP(h *testbed.Host, n int) netip.Addr {
	a := h.PodCIDR.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// TestServices (issue 15): on a 3-host etcd cluster, a service with 3 backends on 2 hosts.
// 300 new connections from a container on the third host and 300 from one on a backend's
// host: every backend serves 33% ± 10% and sees the client's own address. Established
// connections survive a restart of every agent; a removed backend's connections end, the
// others' continue and new ones avoid it. A service without backends refuses at once
// (ICMP port unreachable: ECONNREFUSED).
func TestServices(t *testing.T) {
	t.Parallel()
	ec, backends := newServiceCluster(t)
	c := ec.Cluster
	h1, h2, h3 := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	far := serviceClient(t, c, h3, "client3", 2)
	near := serviceClient(t, c, h1, "client1", 3)

	out, err := c.CLI(h1, "service", "add", "web", "--port", "80/tcp", "--selector", "app=web", "-o", "json")
	require.NoError(t, err, out)
	var svc api.ServiceInfo
	require.NoError(t, json.Unmarshal([]byte(out), &svc))
	require.Equal(t, netip.MustParseAddr("10.43.0.1"), svc.VIP, "the first address of the service CIDR")
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 3)
	}

	var open []*svcConn
	for _, client := range []*testbed.Container{far, near} {
		conns := dialService(t, c, client, svc.VIP, 300)
		n := share(conns)
		t.Logf("300 connections from %s (%s): %v", client.Name, client.Host.Name, n)
		for _, b := range backends {
			require.InDelta(t, 100, n[b.Name], 30, "%s from %s: %v", b.Name, client.Name, n)
		}
		open = append(open, conns...)
	}

	// Every agent restarts (SIGKILL): the established connections keep their backends.
	ec.restartAgents(t)
	for i, s := range open {
		name, _, err := s.ask()
		require.NoError(t, err, "connection %d after restart", i)
		require.Equal(t, s.backend, name, "connection %d keeps its backend", i)
	}

	// web2 (on h2) leaves: its connections end, the others continue, new ones avoid it.
	_, err = c.CLI(h2, "endpoint", "del", "web2")
	require.NoError(t, err)
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 2)
	}
	ended, kept := 0, 0
	for i, s := range open {
		name, _, err := s.ask()
		if s.backend == "web2" {
			require.Error(t, err, "connection %d to the removed backend answered by %s", i, name)
			ended++
			continue
		}
		require.NoError(t, err, "connection %d to %s", i, s.backend)
		require.Equal(t, s.backend, name)
		kept++
	}
	t.Logf("after removing web2: %d connections ended, %d continue", ended, kept)
	n := share(dialService(t, c, far, svc.VIP, 60))
	require.Zero(t, n["web2"], "%v", n)
	require.Equal(t, 60, n["web1"]+n["web3"], "%v", n)

	// No backend: refused at once, not silence.
	_, err = c.CLI(h3, "service", "add", "none", "--port", "80/tcp", "--selector", "app=none", "--vip", "10.43.0.99")
	require.NoError(t, err)
	var dialErr error
	require.Eventually(t, func() bool {
		conn, err := c.Bed.DialTCP(far.Name, netip.MustParseAddrPort("10.43.0.99:80"), 3*time.Second)
		if err == nil {
			conn.Close()
		}
		dialErr = err
		return err != nil && strings.Contains(err.Error(), unix.ECONNREFUSED.Error())
	}, 10*time.Second, 200*time.Millisecond, "dial: %v", dialErr)
	require.Positive(t, counter(t, c, h3, "drop_no_backend"))
	require.Positive(t, counter(t, c, h3, "forward_service"))
}

// TestServiceMesh (issue 15): with --publish 8080 a client outside the cluster reaches a
// backend on any host through any host's address: 300 connections through each host, every
// backend serves 33% ± 10% of them and sees the client's own address, the replies come back
// from the address the client dialed (the connection would not establish otherwise). The
// connections (most through an entry host to a remote backend) all answer again, and again
// after a SIGKILL and restart of every agent.
func TestServiceMesh(t *testing.T) {
	t.Parallel()
	ec, backends := newServiceCluster(t)
	c := ec.Cluster
	require.NoError(t, c.AddOutside("out", outsideIP))
	_, err := c.CLI(c.Hosts[2], "service", "add", "web", "--port", "80/tcp", "--selector", "app=web", "--publish", "8080")
	require.NoError(t, err)
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 3)
	}
	var open []*svcConn
	for _, h := range c.Hosts {
		conns := dialFrom(t, c, "out", outsideIP, netip.AddrPortFrom(h.UnderlayIP, 8080), 300)
		n := share(conns)
		t.Logf("300 connections from outside through %s: %v", h.Name, n)
		for _, b := range backends {
			require.InDelta(t, 100, n[b.Name], 30, "%s through %s: %v", b.Name, h.Name, n)
		}
		require.Equal(t, netip.AddrPortFrom(h.UnderlayIP, 8080).String(), conns[0].conn.RemoteAddr().String())
		open = append(open, conns...)
	}
	for i, s := range open {
		name, _, err := s.ask()
		require.NoError(t, err, "connection %d", i)
		require.Equal(t, s.backend, name)
	}
	require.Positive(t, counter(t, c, c.Hosts[2], "forward_service"))

	// Every agent restarts (SIGKILL): the established mesh connections, two thirds of them
	// through an entry host to a backend on another host, keep their backends.
	remote := 0
	for _, s := range open {
		if netip.MustParseAddrPort(s.conn.RemoteAddr().String()).Addr() != backendOf(backends, s.backend).Host.UnderlayIP {
			remote++
		}
	}
	require.Positive(t, remote)
	ec.restartAgents(t)
	for i, s := range open {
		name, addr, err := s.ask()
		require.NoError(t, err, "connection %d after restart", i)
		require.Equal(t, s.backend, name, "connection %d keeps its backend", i)
		require.True(t, strings.HasPrefix(addr, outsideIP.String()+":"), "connection %d: backend sees %s", i, addr)
	}
	t.Logf("all %d mesh connections (%d to a remote backend) survived a restart of every agent", len(open), remote)
}

// restartAgents kills every agent of ec (SIGKILL) and starts it again with its etcd arguments.
func (ec *etcdCluster) restartAgents(t *testing.T) {
	t.Helper()
	for _, h := range ec.Hosts {
		require.NoError(t, ec.KillAgent(h))
	}
	time.Sleep(500 * time.Millisecond)
	for _, h := range ec.Hosts {
		require.NoError(t, ec.startAgent(h))
	}
}

// backendOf is the backend container named name.
func backendOf(backends []*backendCtr, name string) *backendCtr {
	for _, b := range backends {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// TestServiceMeshFromCluster (issue 15): the routing-mesh port answers the hosts themselves
// and the cluster's containers, as Docker's routing mesh does: from every host to its own
// address, to 127.0.0.1 and to another host's address, and from a container to every host's
// address (hairpin), real TCP connections reach all 3 backends (on 2 hosts), each answering
// from the address dialed. A host's own client keeps its address (127.0.0.1 becomes the
// host's gateway address, as for published ports). All the connections then answer again.
func TestServiceMeshFromCluster(t *testing.T) {
	t.Parallel()
	ec, backends := newServiceCluster(t)
	c := ec.Cluster
	client := serviceClient(t, c, c.Hosts[2], "client3", 2)
	_, err := c.CLI(c.Hosts[0], "service", "add", "web", "--port", "80/tcp", "--selector", "app=web", "--publish", "8080")
	require.NoError(t, err)
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 3)
	}
	const n = 60
	var open []*svcConn
	check := func(what string, conns []*svcConn, to netip.AddrPort) {
		t.Helper()
		open = append(open, conns...)
		got := share(conns)
		t.Logf("%d connections %s: %v, client seen as %s", n, what, got, conns[0].client)
		for _, b := range backends {
			require.Positive(t, got[b.Name], "%s: %v", what, got)
		}
		for _, s := range conns {
			require.Equal(t, to.String(), s.conn.RemoteAddr().String(), "%s answers from the address dialed", what)
		}
	}
	for i, h := range c.Hosts {
		own := netip.AddrPortFrom(h.UnderlayIP, 8080)
		check(fmt.Sprintf("from %s to its own address", h.Name), dialFrom(t, c, h.Name, h.UnderlayIP, own, n), own)
		lo := netip.MustParseAddrPort("127.0.0.1:8080")
		check(fmt.Sprintf("from %s to 127.0.0.1", h.Name), dialFrom(t, c, h.Name, podIP(h, 1), lo, n), lo)
		other := netip.AddrPortFrom(c.Hosts[(i+1)%len(c.Hosts)].UnderlayIP, 8080)
		check(fmt.Sprintf("from %s to %s", h.Name, other), dialFrom(t, c, h.Name, h.UnderlayIP, other, n), other)
		check(fmt.Sprintf("from container %s to %s", client.Name, own), dialAny(t, c, client.Name, own, n), own)
	}
	// A host's connections to its own address and to another host's share its source
	// address and often a source port: the entry hosts' port slices keep them apart.
	for i, s := range open {
		name, _, err := s.ask()
		require.NoError(t, err, "connection %d asks again", i)
		require.Equal(t, s.backend, name)
	}
}

// udpBackend answers every datagram to :53 in container ct with "<ct name> <client address>".
func udpBackend(t *testing.T, c *testbed.Cluster, ct *testbed.Container) {
	t.Helper()
	conn, err := c.Bed.ListenUDP(ct.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 53))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteToUDPAddrPort([]byte(fmt.Sprintf("%s %s", ct.Name, from)), from)
		}
	}()
}

// TestServiceUDP (issue 15): a UDP service end to end. 60 flows (source ports) from a container
// on a host without backends and 60 from one on a backend's host to VIP:53/udp reach all 3
// backends, each seeing the client's address, and every reply comes back from VIP:53 (the
// client's socket is connected to the VIP: a reply from elsewhere would not arrive); a flow
// keeps its backend.
func TestServiceUDP(t *testing.T) {
	t.Parallel()
	ec, backends := newServiceCluster(t)
	c := ec.Cluster
	for _, b := range backends {
		udpBackend(t, c, b.Container)
	}
	far := serviceClient(t, c, c.Hosts[2], "client3", 2)
	near := serviceClient(t, c, c.Hosts[0], "client1", 3)
	out, err := c.CLI(c.Hosts[0], "service", "add", "dns", "--port", "53/udp", "--selector", "app=web", "-o", "json")
	require.NoError(t, err, out)
	var svc api.ServiceInfo
	require.NoError(t, json.Unmarshal([]byte(out), &svc))
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "dns", 3)
	}
	vip := netip.AddrPortFrom(svc.VIP, 53)
	buf := make([]byte, 1500)
	ask := func(conn *net.UDPConn) string {
		t.Helper()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := conn.Write([]byte("hello"))
		require.NoError(t, err)
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		require.NoError(t, err, "reply to %s", conn.LocalAddr())
		name, addr, _ := strings.Cut(string(buf[:n]), " ")
		require.Equal(t, vip, from, "the reply comes from the VIP")
		require.Equal(t, conn.LocalAddr().String(), addr, "%s sees the client's address", name)
		return name
	}
	for _, client := range []*testbed.Container{far, near} {
		n := map[string]int{}
		for port := uint16(40000); port < 40060; port++ {
			conn, err := c.Bed.DialUDP(client.Name, netip.AddrPortFrom(client.IP, port), vip)
			require.NoError(t, err)
			name := ask(conn)
			require.Equal(t, name, ask(conn), "flow %d keeps its backend", port)
			n[name]++
			conn.Close()
		}
		t.Logf("60 UDP flows from %s (%s): %v", client.Name, client.Host.Name, n)
		for _, b := range backends {
			require.Positive(t, n[b.Name], "%s from %s: %v", b.Name, client.Name, n)
		}
	}
	require.Positive(t, counter(t, c, c.Hosts[2], "forward_service"))
}

// TestServiceHealth: with --health-check tcp a backend whose port stops accepting leaves every
// host's table within two probe intervals (1 s each; 3 s allowed for the store round trip) and
// new connections avoid it; when it accepts again it comes back.
func TestServiceHealth(t *testing.T) {
	t.Parallel()
	ec, backends := newServiceCluster(t)
	c := ec.Cluster
	client := serviceClient(t, c, c.Hosts[2], "client3", 2)
	out, err := c.CLI(c.Hosts[0], "service", "add", "web", "--port", "80/tcp", "--selector", "app=web", "--health-check", "tcp", "-o", "json")
	require.NoError(t, err, out)
	var svc api.ServiceInfo
	require.NoError(t, json.Unmarshal([]byte(out), &svc))
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 3)
	}
	web3 := backends[2]
	require.NoError(t, web3.Listener.Close())
	start := time.Now()
	for _, h := range c.Hosts {
		info := waitBackends(t, c, h, "web", 2)
		require.False(t, slices.ContainsFunc(info.Backends, func(b api.ServiceBackend) bool { return b.Endpoint == "web3" }), h.Name)
	}
	t.Logf("web3 left every host's table %s after its listener closed", time.Since(start).Round(100*time.Millisecond))
	require.Less(t, time.Since(start), 3*time.Second)
	n := share(dialService(t, c, client, svc.VIP, 30))
	require.Zero(t, n["web3"], "%v", n)

	web3.Listener = serviceBackend(t, c, web3.Container)
	for _, h := range c.Hosts {
		waitBackends(t, c, h, "web", 3)
	}
	n = share(dialService(t, c, client, svc.VIP, 60))
	require.Positive(t, n["web3"], "web3 serves again: %v", n)
}

// TestServiceBadInput: malformed or conflicting services are refused with a precise message
// and change neither the store nor the service maps.
func TestServiceBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 1) // c1 = 10.42.1.2 on h1
	h1 := c.Hosts[0]
	_, err := c.CLI(h1, "publish", "add", "c1", "8080:80/tcp")
	require.NoError(t, err)
	_, err = c.CLI(h1, "service", "add", "web", "--port", "80/tcp", "--selector", "app=web")
	require.NoError(t, err)
	// A host process listening on 7070 (the mesh port would shadow it on every address).
	bound, err := c.Bed.ListenTCP(h1.Name, netip.AddrPortFrom(netip.IPv4Unspecified(), 7070))
	require.NoError(t, err)
	defer bound.Close()
	add := func(extra ...string) []string {
		return append([]string{"service", "add", "x", "--port", "80/tcp", "--selector", "app=x"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"VIP outside the service CIDR", add("--vip", "10.44.0.1"), "VIP 10.44.0.1 is not a host address of the service CIDR 10.43.0.0/16"},
		{"VIP is the network address", add("--vip", "10.43.0.0"), "VIP 10.43.0.0 is not a host address"},
		{"VIP in use", add("--vip", "10.43.0.1"), "VIP 10.43.0.1 is in use by service web"},
		{"malformed VIP", add("--vip", "10.43.0"), `invalid VIP "10.43.0"`},
		{"duplicate name", []string{"service", "add", "web", "--port", "81/tcp", "--selector", "app=x"}, "service web already exists"},
		{"missing selector", []string{"service", "add", "x", "--port", "80/tcp"}, `required flag(s) "selector" not set`},
		{"malformed selector", []string{"service", "add", "x", "--port", "80/tcp", "--selector", "app in ("}, `invalid selector "app in ("`},
		{"empty selector", []string{"service", "add", "x", "--port", "80/tcp", "--selector", " "}, "service selector is empty"},
		{"port range", []string{"service", "add", "x", "--port", "80-90/tcp", "--selector", "app=x"}, `service port "80-90/tcp": one port`},
		{"bad protocol", []string{"service", "add", "x", "--port", "80/sctp", "--selector", "app=x"}, `protocol "sctp": want tcp or udp`},
		{"bad lb", add("--lb", "roundrobin"), `load balancing "roundrobin": want maglev or random`},
		{"bad affinity", add("--affinity", "cookie"), `affinity "cookie": want none or client-ip`},
		{"mesh port published", add("--publish", "8080"), "port 8080/tcp is published by endpoint c1"},
		{"mesh port bound by a host process", add("--publish", "7070"), "port 7070/tcp is in use by a process on this host"},
		{"bad health check", add("--health-check", "http"), `health check "http": want tcp or tcp:PORT`},
		{"bad health check port", add("--health-check", "tcp:0"), `health check "tcp:0": port "0": want 1-65535`},
		{"bad name", []string{"service", "add", "bad/name", "--port", "80/tcp", "--selector", "app=x"}, `invalid`},
		{"delete unknown", []string{"service", "del", "nope"}, "service nope: not found"},
		{"inspect unknown", []string{"service", "inspect", "nope"}, "service nope: not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svcs, backends := dumpMap(t, h1, "lb_services"), dumpMap(t, h1, "lb_backends")
			before, err := c.CLI(h1, "service", "list")
			require.NoError(t, err)
			out, err := c.CLI(h1, tc.args...)
			require.Error(t, err, "must fail: %s", out)
			require.Contains(t, out, tc.want)
			require.Equal(t, svcs, dumpMap(t, h1, "lb_services"), "lb_services changed")
			require.Equal(t, backends, dumpMap(t, h1, "lb_backends"), "lb_backends changed")
			after, err := c.CLI(h1, "service", "list")
			require.NoError(t, err)
			require.Equal(t, before, after, "stored services changed")
		})
	}
}
