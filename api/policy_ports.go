package api

import (
	"fmt"
	"strconv"
	"strings"
)

// IP protocol numbers the policy knows by name (IANA protocol numbers).
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// PolicyPort is one parsed entry of [NetworkPolicyRule.Ports]: an IP protocol (TCP or UDP)
// and a destination port in 1-65535.
type PolicyPort struct {
	Proto uint8
	Port  uint16
}

// String is the canonical spelling, "80/tcp" or "53/udp".
func (p PolicyPort) String() string {
	return strconv.Itoa(int(p.Port)) + "/" + ProtoName(p.Proto)
}

// ParsePolicyPort parses a Rancher port spec: "PORT" (TCP) or "PORT/PROTO" with PROTO tcp
// or udp (any case) and PORT in 1-65535, as Rancher's validator (network-policy-manager
// policy/policy.go) required. Errors read like `port 70000 out of range 1-65535`,
// `"http" is not a port number`, `protocol "sctp" is not tcp or udp` and
// `"80/tcp/x" is not PORT or PORT/PROTO`.
func ParsePolicyPort(s string) (PolicyPort, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	if hasProto && strings.Contains(proto, "/") {
		return PolicyPort{}, fmt.Errorf("%q is not PORT or PORT/PROTO", s)
	}
	p := PolicyPort{Proto: ProtoTCP}
	if hasProto {
		switch strings.ToLower(proto) {
		case "tcp":
			p.Proto = ProtoTCP
		case "udp":
			p.Proto = ProtoUDP
		default:
			return PolicyPort{}, fmt.Errorf("protocol %q is not tcp or udp", proto)
		}
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return PolicyPort{}, fmt.Errorf("%q is not a port number", num)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil { // more digits than uint64 holds
		return PolicyPort{}, fmt.Errorf("port %s out of range 1-65535", num)
	}
	if n < 1 || n > 65535 {
		return PolicyPort{}, fmt.Errorf("port %d out of range 1-65535", n)
	}
	p.Port = uint16(n)
	return p, nil
}

// ParsePolicyPorts parses a rule's ports with [ParsePolicyPort], dropping duplicates and
// keeping first-seen order; it stops at the first bad spec and returns its error.
func ParsePolicyPorts(specs []string) ([]PolicyPort, error) {
	out := make([]PolicyPort, 0, len(specs))
	seen := make(map[PolicyPort]bool, len(specs))
	for _, s := range specs {
		p, err := ParsePolicyPort(s)
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

// ProtoName is "tcp", "udp", "icmp", "any" (0) or "proto N".
func ProtoName(proto uint8) string {
	switch proto {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case 0:
		return "any"
	}
	return "proto " + strconv.Itoa(int(proto))
}
