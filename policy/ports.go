package policy

import "github.com/ebpfnet/ebpfnet/api"

// IP protocol numbers the policy knows by name.
const (
	ProtoICMP = api.ProtoICMP
	ProtoTCP  = api.ProtoTCP
	ProtoUDP  = api.ProtoUDP
)

// Port is one parsed entry of [Rule.Ports], [api.PolicyPort]: an IP protocol (TCP or
// UDP) and a destination port in 1-65535; [api.ParsePolicyPort] parses it.
type Port = api.PolicyPort

// trafficString describes a packet's protocol and destination port: "5432/tcp",
// "icmp", "proto 47".
func trafficString(proto uint8, port uint16) string {
	if proto == ProtoTCP || proto == ProtoUDP {
		return Port{Proto: proto, Port: port}.String()
	}
	return api.ProtoName(proto)
}
