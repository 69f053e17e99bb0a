package bench

import (
	"crypto/sha512"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Names of the chains the CNI portmap plugin creates in the nat table.
const (
	portmapDNATChain    = "CNI-HOSTPORT-DNAT"
	portmapSetMarkChain = "CNI-HOSTPORT-SETMARK"
	multiportMax        = 15 // ports per iptables multiport match
)

// portmapChainName is a per-container DNAT chain name in portmap's style ("CNI-DN-" and 21
// hex digits of a hash of network name and container ID).
func portmapChainName(netName, containerID string) string {
	sum := sha512.Sum512([]byte(netName + containerID))
	return fmt.Sprintf("CNI-DN-%x", sum[:])[:28]
}

// fillerRules is iptables-restore input (for --noflush) that publishes host ports lo..hi to
// the same ports of container ip in the layout the CNI portmap plugin (1.1.1) writes for a
// container: per mapping a hairpin and a localhost mark rule and a DNAT rule in the
// container's chain, and multiport jumps (15 ports each) from CNI-HOSTPORT-DNAT to that chain.
// Unlike portmap, which appends a new container's jumps, the jumps are inserted at the top
// of CNI-HOSTPORT-DNAT: these mappings stand for containers started before the measured one,
// whose own jump therefore comes after them. declare creates the chain (first call only).
func fillerRules(netName, containerID string, subnet netip.Prefix, ip netip.Addr, lo, hi int, declare bool) string {
	chain := portmapChainName(netName, containerID)
	comment := fmt.Sprintf(`"dnat name: \"%s\" id: \"%s\""`, netName, containerID)
	var b strings.Builder
	b.WriteString("*nat\n")
	if declare {
		fmt.Fprintf(&b, ":%s - [0:0]\n", chain)
	}
	for start := lo; start <= hi; start += multiportMax {
		end := min(hi, start+multiportMax-1)
		ports := make([]string, 0, multiportMax)
		for p := start; p <= end; p++ {
			ports = append(ports, strconv.Itoa(p))
		}
		fmt.Fprintf(&b, "-I %s 1 -p tcp -m comment --comment %s -m multiport --dports %s -j %s\n",
			portmapDNATChain, comment, strings.Join(ports, ","), chain)
	}
	for p := lo; p <= hi; p++ {
		fmt.Fprintf(&b, "-A %[1]s -s %[2]s -p tcp -m tcp --dport %[3]d -j %[4]s\n", chain, subnet, p, portmapSetMarkChain)
		fmt.Fprintf(&b, "-A %[1]s -s 127.0.0.1/32 -p tcp -m tcp --dport %[2]d -j %[3]s\n", chain, p, portmapSetMarkChain)
		fmt.Fprintf(&b, "-A %[1]s -p tcp -m tcp --dport %[2]d -j DNAT --to-destination %[3]s:%[2]d\n", chain, p, ip)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}
