package bpf_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// fuzzPackets is how many packets TestPolicyFuzz sends (fixed seed: the run is reproducible).
const fuzzPackets = 40000

// tuple is a flow as conntrack keys it: ports, or the ICMP echo id in both, or none.
type tuple struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
}

func (t tuple) reverse() tuple { return tuple{t.dst, t.src, t.proto, t.dport, t.sport} }

// fragID is a datagram (RFC 791).
type fragID struct {
	src, dst netip.Addr
	id       uint16
	proto    uint8
}

// fuzzPkt is a generated packet and what the oracle needs to know of it.
type fuzzPkt struct {
	frame   []byte // Ethernet frame as the sender's device sees it
	t       tuple
	later   bool // a non-first fragment
	first   bool // a first fragment
	ports   bool // the L4 ports (or echo id) are in the frame
	isError bool // an ICMP error with its quoted IPv4 header present
	quoted  tuple
	frag    fragID
}

// fuzzSender is a source endpoint: a local container (device, MAC) or the remote endpoint
// behind the peer host with a GBP identity.
type fuzzSender struct {
	ep     policy.Endpoint
	ip     netip.Addr
	mac    net.HardwareAddr
	remote bool
}

var fuzzProtos = []uint8{6, 6, 17, 17, 1, 1, 47, 132, 253}
var fuzzPorts = []uint16{53, 80, 5432, 5432, 6000, 40000}

// genPacket builds a random IPv4 packet src -> dst: any of TCP, UDP, ICMP (echo, errors
// quoting known or random flows, others), GRE, SCTP, proto 253; IP options of 0-40 bytes; a
// malformed IHL; whole, first or later fragments of a few datagram ids; truncated anywhere.
func genPacket(r *rand.Rand, src, dst netip.Addr, smac net.HardwareAddr, known []tuple) fuzzPkt {
	p := fuzzPkt{t: tuple{src: src, dst: dst, proto: fuzzProtos[r.IntN(len(fuzzProtos))]}}
	optWords := []int{0, 0, 0, 1, 2, 10}[r.IntN(6)]
	ihl := 5 + optWords
	if r.IntN(50) == 0 {
		ihl = r.IntN(5) // malformed
	}
	var frag uint16
	switch r.IntN(10) {
	case 0, 1:
		p.first = true
		frag = 0x2000
	case 2, 3:
		p.later = true
		frag = uint16(1+r.IntN(200)) | uint16(r.IntN(2))<<13
	}
	id := uint16(1 + r.IntN(6))
	p.frag = fragID{src, dst, id, p.t.proto}

	var l4 []byte
	if !p.later {
		l4 = genL4(r, &p, known)
	}
	l4 = append(l4, make([]byte, r.IntN(48))...)
	hlen := max(ihl, 5) * 4
	ip := make([]byte, hlen, hlen+len(l4))
	ip[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(ip[2:], uint16(hlen+len(l4)))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], frag)
	ip[8], ip[9] = 64, p.t.proto
	copy(ip[12:], src.AsSlice())
	copy(ip[16:], dst.AsSlice())
	for i := 20; i < hlen; i++ {
		ip[i] = 1 // NOP options
	}
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	frame := append(append([]byte{}, routerMAC...), smac...)
	frame = append(frame, 0x08, 0x00)
	frame = append(append(frame, ip...), l4...)
	if r.IntN(8) == 0 { // BPF_PROG_TEST_RUN wants a whole IPv4 header: cut after it
		frame = frame[:34+r.IntN(len(frame)-33)]
	}
	p.frame = frame
	l4off := 14 + ihl*4
	p.ports = ihl >= 5 && !p.later && len(frame) >= l4off+8
	if p.isError && len(frame) < l4off+8+20 {
		p.isError = false
	}
	if !p.ports || (p.t.proto != 6 && p.t.proto != 17 && !(p.t.proto == 1 && p.t.sport != 0)) {
		p.t.sport, p.t.dport = 0, 0
	}
	return p
}

// genL4 writes the L4 header of p (ports into p.t; quoted flow for ICMP errors).
func genL4(r *rand.Rand, p *fuzzPkt, known []tuple) []byte {
	switch p.t.proto {
	case 6, 17:
		p.t.sport, p.t.dport = uint16(30000+r.IntN(4)), fuzzPorts[r.IntN(len(fuzzPorts))]
		if len(known) > 0 && r.IntN(3) == 0 { // a reply, or more of a known flow
			k := known[r.IntN(len(known))]
			if k.proto == p.t.proto && k.src == p.t.dst && k.dst == p.t.src {
				p.t.sport, p.t.dport = k.dport, k.sport
			}
		}
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], p.t.sport)
		binary.BigEndian.PutUint16(h[2:], p.t.dport)
		h[12] = 0x50
		return h
	case 1:
		typ := []byte{0, 8, 3, 3, 11, 12, 13}[r.IntN(7)]
		h := make([]byte, 8)
		h[0] = typ
		if typ == 0 || typ == 8 {
			id := uint16(1 + r.IntN(3))
			binary.BigEndian.PutUint16(h[4:], id)
			p.t.sport, p.t.dport = id, id
			return h
		}
		if typ == 13 {
			return h
		}
		q := tuple{src: p.t.dst, dst: p.t.src, proto: 17, sport: 5300, dport: 53}
		if len(known) > 0 && r.IntN(2) == 0 {
			q = known[r.IntN(len(known))] // maybe a flow between other endpoints: forged
		}
		qip := make([]byte, 20, 28)
		qip[0], qip[9] = 0x45, q.proto
		copy(qip[12:], q.src.AsSlice())
		copy(qip[16:], q.dst.AsSlice())
		ports := make([]byte, 8)
		binary.BigEndian.PutUint16(ports[0:], q.sport)
		binary.BigEndian.PutUint16(ports[2:], q.dport)
		p.isError, p.quoted = true, q
		return append(append(h, qip...), ports...)
	}
	return nil
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// fuzzOracle mirrors what the policy allows: policy.Decide for new flows, flows it allowed
// (conntrack) and their replies, ICMP errors quoting such a flow between the same two
// endpoints, later fragments of a first fragment it let through under the same policy.
type fuzzOracle struct {
	pol    policy.Policy
	byIP   map[netip.Addr]policy.Endpoint
	est    map[tuple]bool
	firsts map[fragID]bool
}

func (o *fuzzOracle) allows(t tuple) bool {
	port := uint16(0)
	if t.proto == 6 || t.proto == 17 {
		port = t.dport
	}
	v, _ := policy.Decide(o.pol, o.byIP[t.src], o.byIP[t.dst], t.proto, port)
	return v == policy.VerdictAllow
}

// delivered checks a packet the datapath redirected to its destination; false is a
// violation. It records the flow as the datapath's conntrack does.
func (o *fuzzOracle) delivered(p fuzzPkt) bool {
	if p.later {
		return o.firsts[p.frag]
	}
	if (p.t.proto == 6 || p.t.proto == 17) && !p.ports {
		return false // decided without its ports
	}
	ok := o.est[p.t] || o.est[p.t.reverse()]
	if !ok && p.isError && p.quoted.src == p.t.dst && p.quoted.dst == p.t.src {
		ok = o.est[p.quoted] || o.est[p.quoted.reverse()]
	}
	if !ok && o.allows(p.t) {
		ok = true
		if !p.isError {
			o.est[p.t] = true
		}
	}
	if ok && p.first {
		o.firsts[p.frag] = true
	}
	return ok
}

// change switches to pol: flows it denies lose their conntrack entry, remembered fragments
// their verdict, as the datapath's revision check does.
func (o *fuzzOracle) change(pol policy.Policy) {
	o.pol = pol
	for t := range o.est {
		if !o.allows(t) {
			delete(o.est, t)
		}
	}
	clear(o.firsts)
}

// TestPolicyFuzz (issue 10, "done means"): fuzzPackets random packets through from_container
// and from_overlay under three policies in turn, with IP options, fragments, truncated and
// malformed headers and forged ICMP errors among them; no packet may reach an endpoint
// (redirect) unless policy.Decide allows its 5-tuple or it belongs to a flow it allowed.
func TestPolicyFuzz(t *testing.T) {
	f := newFixture(t)
	c1 := policy.Endpoint{Name: "c1", Identity: c1ID, Labels: map[string]string{"app": "attacker"}}
	c2 := policy.Endpoint{Name: "c2", Identity: c2ID, Labels: map[string]string{"app": "db"}}
	web := policy.Endpoint{Name: "web", Identity: remoteID, Labels: map[string]string{"app": "web"}}
	other := policy.Endpoint{Name: "other", Identity: remoteID + 1, Labels: map[string]string{"app": "other"}}
	eps := []policy.Endpoint{c1, c2, web, other}
	rule := func(action policy.Action, from, to string, ports ...string) policy.Rule {
		return policy.Rule{Action: action, From: &policy.Selector{Selector: from}, To: &policy.Selector{Selector: to}, Ports: ports}
	}
	policies := []policy.Policy{
		{DefaultAction: policy.ActionAllow, Rules: []policy.Rule{rule(policy.ActionDeny, "app=attacker", "app=db", "5432"),
			rule(policy.ActionDeny, "app in (other,web)", "app in (db,attacker)", "5432", "53/udp")}},
		{DefaultAction: policy.ActionDeny, Rules: []policy.Rule{rule(policy.ActionAllow, "app=web", "app=db", "5432"),
			rule(policy.ActionAllow, "app=attacker", "app=db", "53/udp"), rule(policy.ActionAllow, "app=db", "app=attacker")}},
		{DefaultAction: policy.ActionDeny},
	}
	o := &fuzzOracle{est: map[tuple]bool{}, firsts: map[fragID]bool{},
		byIP: map[netip.Addr]policy.Endpoint{c1IP: c1, c2IP: c2, remoteIP: web, otherRemoteIP: other}}
	apply := func(pol policy.Policy) {
		c, err := policy.Compile(pol, eps)
		require.NoError(t, err)
		require.NoError(t, maps.SwapPolicy(f.m.Policy, f.m.Node, maps.PolicyEntriesOf(c), nil, func(n *maps.Node) {
			n.PolicyEnforce, n.PolicyDefault = true, c.Default == policy.VerdictAllow
		}))
		o.change(pol)
	}
	senders := []fuzzSender{
		{ep: c1, ip: c1IP, mac: c1MAC}, {ep: c2, ip: c2IP, mac: c2MAC},
		{ep: web, ip: remoteIP, mac: peerVTEPMAC, remote: true}, {ep: other, ip: otherRemoteIP, mac: peerVTEPMAC, remote: true},
	}
	progC, progO := f.dp.Programs().FromContainer, f.dp.Programs().FromOverlay
	r := rand.New(rand.NewPCG(10, 2026))
	var known []tuple
	delivered, violations := 0, 0
	f.inNetns(t, func() {
		for i := range fuzzPackets {
			if i%(fuzzPackets/6) == 0 {
				apply(policies[(i/(fuzzPackets/6))%len(policies)])
			}
			s := senders[r.IntN(len(senders))]
			dst := []netip.Addr{c1IP, c2IP}[r.IntN(2)]
			if !s.remote && dst == s.ip {
				dst = map[netip.Addr]netip.Addr{c1IP: c2IP, c2IP: c1IP}[s.ip]
			}
			p := genPacket(r, s.ip, dst, s.mac, known)
			prog, frame, ifindex := progC, p.frame, map[netip.Addr]int{c1IP: f.lxc1, c2IP: f.lxc2}[s.ip]
			if s.remote {
				prog, frame, ifindex = progO, fromPeer(t, f, uint16(s.ep.Identity), p.frame), f.ul
			}
			ret, err := prog.Run(&ebpf.RunOptions{Data: frame, DataOut: make([]byte, len(frame)+256), Context: skbCtx{Ifindex: uint32(ifindex)}})
			require.NoError(t, err, "packet %d, %d bytes: % x", i, len(frame), frame)
			if ret != tcActRedirect {
				continue
			}
			delivered++
			if !o.delivered(p) {
				violations++
				if violations <= 5 {
					t.Errorf("packet %d delivered against policy: %+v frame % x", i, p.t, p.frame)
				}
			}
			if p.t.sport != 0 && len(known) < 64 {
				known = append(known, p.t)
			}
		}
	})
	c := f.counters(t)
	t.Logf("%d packets, %d delivered, %d violations; drops: policy %d, invalid %d, frag_unknown %d", fuzzPackets, delivered,
		violations, c[19].Packets, c[8].Packets, c[24].Packets)
	require.Zero(t, violations)
	require.Positive(t, delivered)
}
