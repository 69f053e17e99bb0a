package agent

import (
	"fmt"
	"os"
)

// localPortRangePath is the netns's ephemeral port range (Documentation/networking/ip-sysctl.rst).
const localPortRangePath = "/proc/sys/net/ipv4/ip_local_port_range"

// minNATPorts is the smallest masquerade range defaultNATPorts settles for.
const minNATPorts = 1024

// defaultNATPorts is the masquerade source-port range when --nat-port-range is not given: the
// ports from 1024 (RFC 6335 section 6: below are system ports) up to the first port of the
// agent netns's ip_local_port_range (1024-32767 with the kernel's 32768-60999), else the ports
// above its last. The kernel picks the host's own connections' source ports in that range and
// knows nothing of the datapath's masquerade tuples, so the two ranges must not meet: a host
// connection on a masqueraded container flow's tuple would have its replies taken by that flow
// (iptables MASQUERADE avoids it through conntrack, which sees the host's sockets too). Errors:
// the sysctl unreadable, or fewer than minNATPorts ports outside it.
func defaultNATPorts() ([2]uint16, error) {
	b, err := os.ReadFile(localPortRangePath)
	if err != nil {
		return [2]uint16{}, fmt.Errorf("masquerade port range: %w (give --nat-port-range)", err)
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return [2]uint16{}, fmt.Errorf("masquerade port range: %s %q: %v (give --nat-port-range)", localPortRangePath, b, err)
	}
	return natPortsOutside(lo, hi)
}

// natPortsOutside is the masquerade range outside the ephemeral range lo-hi (see
// defaultNATPorts): [1024, lo-1] when it holds minNATPorts ports, else [hi+1, 65535].
func natPortsOutside(lo, hi int) ([2]uint16, error) {
	switch {
	case lo-1024 >= minNATPorts:
		return [2]uint16{1024, uint16(lo - 1)}, nil
	case 65535-hi >= minNATPorts:
		return [2]uint16{uint16(hi + 1), 65535}, nil
	}
	return [2]uint16{}, fmt.Errorf("masquerade port range: fewer than %d ports outside net.ipv4.ip_local_port_range %d-%d: give --nat-port-range", minNATPorts, lo, hi)
}
