package lb

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// jhashInitval is the Linux kernel's JHASH_INITVAL (include/linux/jhash.h).
const jhashInitval = 0xdeadbeef

// jhash3 is the kernel's jhash_3words(a, b, c, initval) (Bob Jenkins' lookup3 final mix, as
// include/linux/jhash.h __jhash_final), the same function as lb_jhash_3words in bpf/lib/lb.h.
func jhash3(a, b, c, initval uint32) uint32 {
	a += jhashInitval + 12 + initval
	b += jhashInitval + 12 + initval
	c += jhashInitval + 12 + initval
	c = mixStep(c, b, 14)
	a = mixStep(a, c, 11)
	b = mixStep(b, a, 25)
	c = mixStep(c, b, 16)
	a = mixStep(a, c, 4)
	b = mixStep(b, a, 14)
	return mixStep(c, b, 24)
}

// mixStep is one step of lookup3's final mix: x ^= y; x -= rol32(y, r).
func mixStep(x, y uint32, r int) uint32 { return (x ^ y) - bits.RotateLeft32(y, r) }

// word is the uint32 the datapath reads from an IPv4 address's 4 network-order bytes on a
// little-endian host (the BPF target, x86-64 and arm64).
func word(a netip.Addr) uint32 {
	b := a.As4()
	return binary.LittleEndian.Uint32(b[:])
}

// swap16 is a port in network order as read into a uint16 on a little-endian host.
func swap16(p uint16) uint32 { return uint32(bits.ReverseBytes16(p)) }

// FlowHash is the hash the datapath picks a service's Maglev slot with (slot = hash mod the
// table size) for a connection from saddr:sport to daddr:dport (the service address, before
// translation) over protocol proto: jhash_3words(saddr, daddr, sport | dport<<16, proto) over
// the values as a little-endian host reads the packet's network-order fields, as
// bpf/lib/lb.h lb_flow_hash (cf. Cilium's hash_from_tuple_v4 in bpf/lib/lb.h).
func FlowHash(saddr, daddr netip.Addr, sport, dport uint16, proto uint8) uint32 {
	return jhash3(word(saddr), word(daddr), swap16(sport)|swap16(dport)<<16, uint32(proto))
}

// ClientHash is the hash of `--affinity client-ip`: the client's address alone
// (jhash_3words(saddr, 0, 0, 0)), so every connection of a client takes the same slot.
func ClientHash(saddr netip.Addr) uint32 {
	return jhash3(word(saddr), 0, 0, 0)
}
