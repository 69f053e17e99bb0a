package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/agent"
	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// The victim's services: neither is published, and only app=client may reach them.
const (
	victimUDPPort = 7000
	victimTCPPort = 8080
	attackCount   = 5 // datagrams per attack
)

// trustScene is the issue 9 setup on a 3-host cluster with the outside machine "out" on the
// underlay: on h1 an attacker container (app=attacker) and a legitimate client (app=client),
// on h2 the victim (app=victim) with a UDP listener, a TCP server and a packet socket on its
// eth0 that counts every frame arriving for its two ports, per inner source port.
type trustScene struct {
	c                        *testbed.Cluster
	h1, h2                   *testbed.Host
	attacker, client, victim *testbed.Container
	sharedIdentities         bool // etcd store: identities and policy are cluster-wide

	mu        sync.Mutex
	arrived   map[uint16]int // frames at the victim's eth0 for its ports, by source port
	fromLegit int            // of those, frames from the client (proves the counting works)
	legitUDP  int            // datagrams the victim's UDP listener got with payload "legit"
	otherUDP  int            // any other datagram it got
	legitConn int            // TCP connections the victim's server accepted from the client
	otherConn int            // from anyone else
}

func newTrustScene(t *testing.T, c *testbed.Cluster, sharedIdentities bool) *trustScene {
	s := &trustScene{c: c, h1: c.Hosts[0], h2: c.Hosts[1], sharedIdentities: sharedIdentities, arrived: map[uint16]int{}}
	var err error
	s.attacker, err = c.AddContainer(s.h1, "atk", s.h1.PodCIDR.Addr().Next().Next(), "app=attacker")
	require.NoError(t, err)
	s.client, err = c.AddContainer(s.h1, "cli", s.h1.PodCIDR.Addr().Next().Next().Next(), "app=client")
	require.NoError(t, err)
	s.victim, err = c.AddContainer(s.h2, "vic", s.h2.PodCIDR.Addr().Next().Next(), "app=victim")
	require.NoError(t, err)
	s.serve(t)
	return s
}

// serve starts the victim's listeners and frame counter; they stop at cleanup.
func (s *trustScene) serve(t *testing.T) {
	bed := s.c.Bed
	udp, err := bed.ListenUDP(s.victim.Name, netip.AddrPortFrom(s.victim.IP, victimUDPPort))
	require.NoError(t, err)
	t.Cleanup(func() { udp.Close() })
	go readEach(udp, func(b []byte) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if string(b) == "legit" {
			s.legitUDP++
		} else {
			s.otherUDP++
		}
	})
	tcp, err := bed.ListenTCP(s.victim.Name, netip.AddrPortFrom(s.victim.IP, victimTCPPort))
	require.NoError(t, err)
	t.Cleanup(func() { tcp.Close() })
	go func() {
		for {
			conn, err := tcp.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr() == s.client.IP {
				s.legitConn++
			} else {
				s.otherConn++
			}
			s.mu.Unlock()
			go func() { // echo one byte
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
				b := make([]byte, 1)
				if _, err := conn.Read(b); err == nil {
					_, _ = conn.Write(b)
				}
			}()
		}
	}()
	sniff, err := bed.OpenPacketSocket(s.victim.Name, "eth0")
	require.NoError(t, err)
	t.Cleanup(func() { sniff.Close() })
	go readEach(sniff, func(frame []byte) {
		if src, sport, ok := s.victimFrame(frame); ok {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.arrived[sport]++
			if src == s.client.IP {
				s.fromLegit++
			}
		}
	})
}

// readEach calls fn with every datagram or frame read from r until a read fails (r closed).
func readEach(r io.Reader, fn func([]byte)) {
	buf := make([]byte, 65536)
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		fn(buf[:n])
	}
}

// victimFrame reports the source address and port of a frame addressed to one of the
// victim's services.
func (s *trustScene) victimFrame(frame []byte) (netip.Addr, uint16, bool) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok || netip.AddrFrom4([4]byte(ip.DstIP.To4())) != s.victim.IP {
		return netip.Addr{}, 0, false
	}
	src := netip.AddrFrom4([4]byte(ip.SrcIP.To4()))
	if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && u.DstPort == victimUDPPort {
		return src, uint16(u.SrcPort), true
	}
	if c, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && c.DstPort == victimTCPPort {
		return src, uint16(c.SrcPort), true
	}
	return netip.Addr{}, 0, false
}

// applyPolicy sets defaultPolicyAction def with one rule, app=client may reach the victim's
// two ports, on every host (the local store keeps one policy per host; with etcd this is the
// same cluster-wide document each time), and waits until all hosts agree.
func (s *trustScene) applyPolicy(t *testing.T, def string) {
	file := filepath.Join(s.c.Bed.TempDir(), "trust-policy.yaml")
	doc := "defaultPolicyAction: " + def + "\nrules:\n- action: allow\n  from: {selector: app=client}\n" +
		"  to: {selector: app=victim}\n  ports: [\"7000/udp\", \"8080/tcp\"]\n"
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
	for _, h := range s.c.Hosts {
		out, err := s.c.CLI(h, "policy", "apply", "-f", file)
		require.NoError(t, err, out)
	}
	want := policyText(t, s.c, s.h1)
	for _, h := range s.c.Hosts {
		require.Eventually(t, func() bool { return policyText(t, s.c, h) == want }, 10*time.Second, 50*time.Millisecond)
	}
}

// innerPacket is an Ethernet frame to the victim as h2's VTEP would receive it, from src:sport;
// a UDP datagram "attack" or, with syn, a TCP SYN.
func (s *trustScene) innerPacket(t *testing.T, src netip.Addr, sport uint16, syn bool) []byte {
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: src.AsSlice(), DstIP: s.victim.IP.AsSlice()}
	var l4 gopacket.SerializableLayer
	if syn {
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: victimTCPPort, SYN: true, Seq: 1, Window: 64240}
		require.NoError(t, tcp.SetNetworkLayerForChecksum(ip))
		l4 = tcp
	} else {
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: victimUDPPort}
		require.NoError(t, udp.SetNetworkLayerForChecksum(ip))
		l4 = udp
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x66}, DstMAC: agent.RouterMAC(s.h2.UnderlayIP),
		EthernetType: layers.EthernetTypeIPv4}
	return serializeLayers(t, eth, ip, l4, gopacket.Payload("attack"))
}

// vxlanDatagram is the UDP payload of a VXLAN datagram (RFC 7348, VNI 1042) carrying inner,
// with a Group Policy ID (draft-smith-vxlan-group-policy) when gbp is not 0.
func vxlanDatagram(t *testing.T, gbp uint16, inner []byte) []byte {
	return serializeLayers(t, &layers.VXLAN{ValidIDFlag: true, VNI: agent.DefaultVNI, GBPExtension: gbp != 0, GBPGroupPolicyID: gbp},
		gopacket.Payload(inner))
}

func serializeLayers(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return buf.Bytes()
}

// sendUDP sends payload n times from an ordinary UDP socket in netns ns (source from:0) to to.
func (s *trustScene) sendUDP(t *testing.T, ns string, from netip.Addr, to netip.AddrPort, n int, payload []byte) {
	conn, err := s.c.Bed.DialUDP(ns, netip.AddrPortFrom(from, 0), to)
	require.NoError(t, err)
	defer conn.Close()
	for range n {
		_, err := conn.Write(payload)
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
}

// macOf returns the MAC of device ifname in bed namespace ns.
func macOf(t *testing.T, bed *testbed.Bed, ns, ifname string) net.HardwareAddr {
	h, err := bed.Handle(ns)
	require.NoError(t, err)
	l, err := h.LinkByName(ifname)
	require.NoError(t, err)
	return l.Attrs().HardwareAddr
}

// identityOf returns the identity the agent of ct's host gave ct.
func identityOf(t *testing.T, c *testbed.Cluster, ct *testbed.Container) uint16 {
	out, err := c.CLI(ct.Host, "endpoint", "list", "-o", "json")
	require.NoError(t, err)
	var eps []api.Endpoint
	require.NoError(t, json.Unmarshal([]byte(out), &eps))
	for _, e := range eps {
		if e.Name == ct.Name {
			return uint16(e.Identity)
		}
	}
	t.Fatalf("no endpoint %s on %s", ct.Name, ct.Host.Name)
	return 0
}

// trustAttack is one injection attempt: send crafts and sends it attackCount times; its inner
// packets carry source port sport; counter on host must move by attackCount, and `ebpfnet
// monitor` on host must show as many drops of that reason with source src.
type trustAttack struct {
	name    string
	sport   uint16
	send    func(t *testing.T, sport uint16, n int) // n packets
	host    *testbed.Host
	counter string
	src     netip.Addr
}

// attacks are issue 9's injection attacks against the victim.
func (s *trustScene) attacks(t *testing.T) []trustAttack {
	bed := s.c.Bed
	vxlanTo := netip.AddrPortFrom(s.h2.UnderlayIP, 4789)
	clientID := identityOf(t, s.c, s.client)
	outMAC, h2MAC := macOf(t, bed, "out", "eth0"), macOf(t, bed, s.h2.Name, "ul0")
	return []trustAttack{
		{name: "(a) container -> h2:4789, VXLAN-GBP with the client's identity", sport: 5001, host: s.h1, counter: "drop_tunnel_from_container", src: s.attacker.IP,
			send: func(t *testing.T, sport uint16, n int) {
				s.sendUDP(t, s.attacker.Name, s.attacker.IP, vxlanTo, n, vxlanDatagram(t, clientID, s.innerPacket(t, s.attacker.IP, sport, false)))
			}},
		{name: "(a) container -> h2:51820 (WireGuard port), same datagram", sport: 5002, host: s.h1, counter: "drop_tunnel_from_container", src: s.attacker.IP,
			send: func(t *testing.T, sport uint16, n int) {
				s.sendUDP(t, s.attacker.Name, s.attacker.IP, netip.AddrPortFrom(s.h2.UnderlayIP, agent.WireGuardPort), n,
					vxlanDatagram(t, clientID, s.innerPacket(t, s.attacker.IP, sport, false)))
			}},
		{name: "(b) container -> h2:4789, no GBP, inner source = the client", sport: 5003, host: s.h1, counter: "drop_tunnel_from_container", src: s.attacker.IP,
			send: func(t *testing.T, sport uint16, n int) {
				s.sendUDP(t, s.attacker.Name, s.attacker.IP, vxlanTo, n, vxlanDatagram(t, 0, s.innerPacket(t, s.client.IP, sport, false)))
			}},
		{name: "(c) outside machine -> h2:4789, inner UDP, client's GBP", sport: 5004, host: s.h2, counter: "drop_unknown_peer", src: outsideIP,
			send: func(t *testing.T, sport uint16, n int) {
				s.sendUDP(t, "out", outsideIP, vxlanTo, n, vxlanDatagram(t, clientID, s.innerPacket(t, outsideIP, sport, false)))
			}},
		{name: "(c) outside machine -> h2:4789, inner TCP SYN, client's GBP", sport: 5005, host: s.h2, counter: "drop_unknown_peer", src: outsideIP,
			send: func(t *testing.T, sport uint16, n int) {
				s.sendUDP(t, "out", outsideIP, vxlanTo, n, vxlanDatagram(t, clientID, s.innerPacket(t, outsideIP, sport, true)))
			}},
		{name: "(d) outside machine forging h1's outer source, inner source its own", sport: 5006, host: s.h2, counter: forgedHostReason(), src: outsideIP,
			send: func(t *testing.T, sport uint16, n int) {
				outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolUDP,
					SrcIP: s.h1.UnderlayIP.AsSlice(), DstIP: s.h2.UnderlayIP.AsSlice()}
				udp := &layers.UDP{SrcPort: 40000, DstPort: 4789}
				require.NoError(t, udp.SetNetworkLayerForChecksum(outer))
				frame := serializeLayers(t, &layers.Ethernet{SrcMAC: outMAC, DstMAC: h2MAC, EthernetType: layers.EthernetTypeIPv4},
					outer, udp, gopacket.Payload(vxlanDatagram(t, clientID, s.innerPacket(t, outsideIP, sport, false))))
				ps, err := bed.OpenPacketSocket("out", "eth0")
				require.NoError(t, err)
				defer ps.Close()
				for range n {
					require.NoError(t, ps.Send(frame))
					time.Sleep(5 * time.Millisecond)
				}
			}},
	}
}

// run sends every attack under defaultPolicyAction def, logs a row of the attack table per
// attack and asserts that nothing arrived at the victim and the right counter moved; then
// that legitimate cross-host traffic still flows (when the policy can express it).
func (s *trustScene) run(t *testing.T, def string, attacks []trustAttack) {
	s.applyPolicy(t, def)
	for _, a := range attacks {
		sport := a.sport
		if def == "allow" {
			sport += 100 // new flows: no conntrack entry from the other run
		}
		mon, seen, warm := s.watchDrops(t, a, sport+50)
		before := counter(t, s.c, a.host, a.counter)
		a.send(t, sport, attackCount)
		time.Sleep(300 * time.Millisecond)
		moved := counter(t, s.c, a.host, a.counter) - before
		s.checkMonitor(t, a, mon, seen+attackCount)
		s.mu.Lock()
		delivered := s.arrived[sport] + s.arrived[sport+50]
		s.mu.Unlock()
		store := "local"
		if s.sharedIdentities {
			store = "etcd"
		}
		t.Logf("| %-5s | %-68s | %-5s | delivered %d/%d | %s %s +%d |", store, a.name, def, delivered, warm+attackCount, a.host.Name, a.counter, moved)
		assert.Zero(t, delivered, "%s under default %s: frames reached the victim", a.name, def)
		assert.Equal(t, uint64(attackCount), moved, "%s under default %s: %s on %s", a.name, def, a.counter, a.host.Name)
	}
	s.mu.Lock()
	assert.Zero(t, s.otherUDP, "datagrams other than the client's reached the victim's listener")
	assert.Zero(t, s.otherConn, "connections other than the client's reached the victim's server")
	s.mu.Unlock()

	// Control: the attacker's own traffic is denied by the policy when the default is deny.
	if def == "deny" {
		s.sendUDP(t, s.attacker.Name, s.attacker.IP, netip.AddrPortFrom(s.victim.IP, victimUDPPort), attackCount, []byte("direct"))
		time.Sleep(200 * time.Millisecond)
		s.mu.Lock()
		assert.Zero(t, s.otherUDP, "the attacker reached the victim directly under default deny")
		s.mu.Unlock()
	}
	if def == "deny" && !s.sharedIdentities {
		t.Log("local store: identities are per host, so the client -> victim allow rule cannot match across hosts; legitimate traffic checked under default allow")
		return
	}
	s.mu.Lock()
	udpBefore, connBefore, framesBefore := s.legitUDP, s.legitConn, s.fromLegit
	s.mu.Unlock()
	s.sendUDP(t, s.client.Name, s.client.IP, netip.AddrPortFrom(s.victim.IP, victimUDPPort), attackCount, []byte("legit"))
	conn, err := s.c.Bed.DialTCP(s.client.Name, netip.AddrPortFrom(s.victim.IP, victimTCPPort), 2*time.Second)
	require.NoError(t, err, "client -> victim TCP under default %s", def)
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	b := []byte{42}
	_, err = conn.Write(b)
	require.NoError(t, err)
	_, err = conn.Read(b)
	require.NoError(t, err, "echo from the victim")
	conn.Close()
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		// 5 datagrams and at least SYN, ACK, data: the frame counter sees what the sockets see
		return s.legitUDP-udpBefore == attackCount && s.legitConn-connBefore == 1 && s.fromLegit-framesBefore >= attackCount+3
	}, 2*time.Second, 20*time.Millisecond, "legitimate client -> victim traffic under default %s", def)
}

// watchDrops starts `ebpfnet monitor -o json` on a's host and returns once it is subscribed:
// single packets of a (inner source port warm) go out until it shows a drop. It returns the
// monitor, how many events it has shown and how many packets went out. The bed kills it at
// the latest.
func (s *trustScene) watchDrops(t *testing.T, a trustAttack, warm uint16) (*testbed.Proc, int, int) {
	mon, err := s.c.Bed.Start(a.host.Name, s.c.Binary, "--socket", a.host.Socket, "monitor", "-o", "json")
	require.NoError(t, err)
	sent := 0
	for deadline := time.Now().Add(10 * time.Second); len(monitorEvents(t, mon)) == 0; sent++ {
		require.True(t, time.Now().Before(deadline), "%s: monitor on %s shows no drop: %s", a.name, a.host.Name, mon.Log())
		a.send(t, warm, 1)
		time.Sleep(100 * time.Millisecond)
	}
	return mon, len(monitorEvents(t, mon)), sent
}

// monitorEvents parses the JSON lines mon printed so far.
func monitorEvents(t *testing.T, mon *testbed.Proc) []api.DropEvent {
	var out []api.DropEvent
	for _, line := range strings.Split(mon.Log(), "\n") {
		var ev api.DropEvent
		if json.Unmarshal([]byte(line), &ev) == nil { // the last line may be partial
			out = append(out, ev)
		}
	}
	return out
}

// checkMonitor asserts that mon has shown at least want drops, all of a's reason and source,
// and stops it.
func (s *trustScene) checkMonitor(t *testing.T, a trustAttack, mon *testbed.Proc, want int) {
	defer func() { _ = mon.Kill() }()
	assert.Eventually(t, func() bool { return len(monitorEvents(t, mon)) >= want }, 5*time.Second, 20*time.Millisecond,
		"%s: monitor on %s showed fewer than %d drops: %s", a.name, a.host.Name, want, mon.Log())
	for _, ev := range monitorEvents(t, mon) {
		assert.Equal(t, a.counter, ev.Reason, "%s: monitor event %+v", a.name, ev)
		assert.Equal(t, a.src, ev.Src, "%s: monitor event %+v", a.name, ev)
	}
}

// TestTrustedOverlay: issue 9's injection attacks on a 3-host cluster of static peers (local
// store) with an outside machine on the underlay, under default deny and default allow:
// nothing reaches the victim container, each attack moves its drop counter, and legitimate
// cross-host traffic still flows.
func TestTrustedOverlay(t *testing.T) {
	t.Parallel()
	c := buildCluster(t, clusterSpec{hosts: 3, outside: true})
	s := newTrustScene(t, c, false)
	attacks := s.attacks(t)
	for _, def := range []string{"deny", "allow"} {
		s.run(t, def, attacks)
	}
}

// TestTrustedOverlayEtcd is TestTrustedOverlay on a 3-host etcd cluster, as the issue found
// it: peers come from node records, identities and policy are cluster-wide, so the forged
// Group Policy ID is that of a client the policy allows.
func TestTrustedOverlayEtcd(t *testing.T) {
	t.Parallel()
	ec := newEtcdCluster(t, false, true)
	require.NoError(t, ec.AddOutside("out", outsideIP))
	ec.meshed(t)
	s := newTrustScene(t, ec.Cluster, true)
	// h2 knows the client's identity (its /32 ipcache entry) before the attacks.
	waitIPCacheRoute(t, s.h2, netip.PrefixFrom(s.client.IP, 32), s.h1.UnderlayIP, 10*time.Second)
	attacks := s.attacks(t)
	for _, def := range []string{"deny", "allow"} {
		s.run(t, def, attacks)
	}

	// The peers map follows the node records: the other two live nodes, and a node whose
	// lease ran out leaves it.
	h1, h2, h3 := ec.Hosts[0], ec.Hosts[1], ec.Hosts[2]
	enc := suiteEncrypted() // with suite encryption every node publishes a key
	require.Equal(t, map[netip.Addr]maps.Peer{h2.UnderlayIP: {IP: h2.UnderlayIP, Encrypt: enc}, h3.UnderlayIP: {IP: h3.UnderlayIP, Encrypt: enc}}, peerHosts(t, h1))
	require.NoError(t, ec.KillAgent(h3))
	require.Eventually(t, func() bool {
		_, ok := peerHosts(t, h1)[h3.UnderlayIP]
		return !ok
	}, etcdNodeTTL+5*time.Second, 50*time.Millisecond, "h3 still in h1's peers map after its lease expired")
	require.Contains(t, peerHosts(t, h1), h2.UnderlayIP)
}

// peerHosts reads h's pinned peers map: host underlay IPv4 -> entry.
func peerHosts(t *testing.T, h *testbed.Host) map[netip.Addr]maps.Peer {
	t.Helper()
	all, err := maps.NewPeers(pinnedMap(t, h, "peers")).List()
	require.NoError(t, err)
	out := map[netip.Addr]maps.Peer{}
	for _, p := range all {
		out[p.IP] = p
	}
	return out
}

// TestPeersMapSync: the agent keeps the peers map equal to its peers' hosts: `peer add` (with
// --plain-vxlan) and `peer del` change it at once, and a restarted agent sweeps an entry
// nobody wants (mark and sweep) while keeping the others.
func TestPeersMapSync(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 0)
	h1, h2 := c.Hosts[0], c.Hosts[1]
	plain := netip.MustParseAddr("172.31.0.3")
	h2Peer := maps.Peer{IP: h2.UnderlayIP, Encrypt: suiteEncrypted()}
	require.Equal(t, map[netip.Addr]maps.Peer{h2.UnderlayIP: h2Peer}, peerHosts(t, h1))

	_, err := c.CLI(h1, "peer", "add", "10.42.3.0/24", "--host", plain.String(), "--plain-vxlan")
	require.NoError(t, err)
	require.Equal(t, map[netip.Addr]maps.Peer{h2.UnderlayIP: h2Peer, plain: {IP: plain, PlainVXLAN: true}}, peerHosts(t, h1))
	_, err = c.CLI(h1, "peer", "del", "10.42.3.0/24")
	require.NoError(t, err)
	require.Equal(t, map[netip.Addr]maps.Peer{h2.UnderlayIP: h2Peer}, peerHosts(t, h1))

	// A stale entry written while no agent runs is swept on restart; h2 stays throughout.
	require.NoError(t, c.KillAgent(h1))
	m, err := ebpf.LoadPinnedMap(filepath.Join(h1.PinDir, "peers"), nil)
	require.NoError(t, err)
	require.NoError(t, maps.NewPeers(m).Put(maps.Peer{IP: plain}))
	m.Close()
	require.NoError(t, c.StartAgent(h1))
	require.Equal(t, map[netip.Addr]maps.Peer{h2.UnderlayIP: h2Peer}, peerHosts(t, h1))
}
