package policy

import "strconv"

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"; IPPROTO_* in
// <linux/in.h>), the only copy in Go: policy rules, map keys and the datapath's tuples use them.
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// ProtoName is the name of IP protocol p as operators read it everywhere (policy, monitor,
// NAT list): "tcp", "udp", "icmp", or "proto N" for any other number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	}
	return "proto " + strconv.Itoa(int(p))
}
