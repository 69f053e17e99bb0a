package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Port is one parsed entry of [Rule.Ports]: an IP protocol (TCP or UDP) and a
// destination port in 1-65535.
type Port struct {
	Proto uint8
	Port  uint16
}

// String is the canonical spelling, "80/tcp" or "53/udp".
func (p Port) String() string {
	return strconv.Itoa(int(p.Port)) + "/" + ProtoName(p.Proto)
}

// ParsePort parses a Rancher port spec: "PORT" (TCP) or "PORT/PROTO" with PROTO tcp
// or udp (any case) and PORT in 1-65535, as Rancher's validator (network-policy-manager
// policy/policy.go) required. Errors read like `port 70000 out of range 1-65535`,
// `"http" is not a port number`, `protocol "sctp" is not tcp or udp` and
// `"80/tcp/x" is not PORT or PORT/PROTO`.
func ParsePort(s string) (Port, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	if hasProto && strings.Contains(proto, "/") {
		return Port{}, fmt.Errorf("%q is not PORT or PORT/PROTO", s)
	}
	p := Port{Proto: ProtoTCP}
	if hasProto {
		switch strings.ToLower(proto) {
		case "tcp":
			p.Proto = ProtoTCP
		case "udp":
			p.Proto = ProtoUDP
		default:
			return Port{}, fmt.Errorf("protocol %q is not tcp or udp", proto)
		}
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return Port{}, fmt.Errorf("%q is not a port number", num)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil { // more digits than uint64 holds
		return Port{}, fmt.Errorf("port %s out of range 1-65535", num)
	}
	if n < 1 || n > 65535 {
		return Port{}, fmt.Errorf("port %d out of range 1-65535", n)
	}
	p.Port = uint16(n)
	return p, nil
}

// parsePorts parses a rule's ports, dropping duplicates and keeping first-seen order;
// it stops at the first bad spec.
func parsePorts(specs []string) ([]Port, error) {
	out := make([]Port, 0, len(specs))
	seen := make(map[Port]bool, len(specs))
	for _, s := range specs {
		p, err := ParsePort(s)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// trafficString describes a packet's protocol and destination port: "5432/tcp",
// "icmp", "proto 47", "any" (protocol 0: any traffic).
func trafficString(proto uint8, port uint16) string {
	if proto == ProtoTCP || proto == ProtoUDP {
		return Port{Proto: proto, Port: port}.String()
	}
	if proto == 0 {
		return "any"
	}
	return ProtoName(proto)
}
