package agent

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// parsePortSpec parses Docker's port syntax "hostPort[-end][:containerPort[-end]][/proto]"
// (proto tcp by default). needTarget demands the container part (publish add); without it the
// container port defaults to the host port.
func parsePortSpec(spec string, needTarget bool) (api.PortMapping, error) {
	bad := func(why string) (api.PortMapping, error) {
		return api.PortMapping{}, invalid("invalid port mapping %q: %s", spec, why)
	}
	rest, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad(fmt.Sprintf("protocol %q: want tcp or udp", proto))
	}
	hostPart, ctrPart, hasCtr := strings.Cut(rest, ":")
	if needTarget && !hasCtr {
		return bad("want hostPort:containerPort[/proto], e.g. 8080:80/tcp")
	}
	hLo, hHi, err := parsePortRange(hostPart)
	if err != nil {
		return bad(err.Error())
	}
	cLo, cHi := hLo, hHi
	if hasCtr {
		if cLo, cHi, err = parsePortRange(ctrPart); err != nil {
			return bad(err.Error())
		}
	}
	if hHi-hLo != cHi-cLo {
		return bad("host and container port ranges differ in length")
	}
	return api.PortMapping{HostPort: hLo, HostPortEnd: hHi, ContainerPort: cLo, Proto: proto}, nil
}

// parsePortRange parses "N" or "N-M" with 1 <= N <= M <= 65535.
func parsePortRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || l == 0 || h == 0 {
		return 0, 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	if l > h {
		return 0, 0, fmt.Errorf("port range %q is reversed", s)
	}
	return uint16(l), uint16(h), nil
}

// portString formats m the way parsePortSpec reads it.
func portString(m api.PortMapping) string {
	r := func(lo, n uint16) string {
		if n == 0 {
			return strconv.Itoa(int(lo))
		}
		return fmt.Sprintf("%d-%d", lo, lo+n)
	}
	n := m.HostPortEnd - m.HostPort
	s := r(m.HostPort, n) + ":" + r(m.ContainerPort, n) + "/" + m.Proto
	if m.HostIP.IsValid() {
		s = m.HostIP.String() + ":" + s
	}
	return s
}

// overlaps reports whether two mappings claim a common hostIP:port/proto.
func overlaps(a, b api.PortMapping) bool {
	return a.Proto == b.Proto && a.HostPort <= b.HostPortEnd && b.HostPort <= a.HostPortEnd &&
		(!a.HostIP.IsValid() || !b.HostIP.IsValid() || a.HostIP == b.HostIP)
}

// sameMapping reports whether a and b claim exactly the same host ports.
func sameMapping(a, b api.PortMapping) bool {
	return a.HostIP == b.HostIP && a.HostPort == b.HostPort && a.HostPortEnd == b.HostPortEnd && a.Proto == b.Proto
}

// protoNumber is the IP protocol number of "tcp" or "udp".
func protoNumber(p string) uint8 {
	if p == "udp" {
		return policy.ProtoUDP
	}
	return policy.ProtoTCP
}

// expand turns m into one map entry per host port, targeting ip.
func expand(m api.PortMapping, ip netip.Addr) []maps.PortMapping {
	out := make([]maps.PortMapping, 0, int(m.HostPortEnd-m.HostPort)+1)
	for i := 0; i <= int(m.HostPortEnd-m.HostPort); i++ {
		out = append(out, maps.PortMapping{
			HostIP: m.HostIP, HostPort: m.HostPort + uint16(i), Proto: protoNumber(m.Proto),
			IP: ip, Port: m.ContainerPort + uint16(i),
		})
	}
	return out
}
