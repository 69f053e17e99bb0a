package agent

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// AllMeshPorts is the widest routing-mesh source-port range (--mesh-port-range 1024-65535):
// every port but the well-known ones (RFC 6335 section 6: 0-1023 are system ports).
var AllMeshPorts = [2]uint16{1024, 65535}

// meshPortSlice is this node's slice, [first, last] inclusive, of the routing mesh's
// source-port range ports. An entry host translates a mesh client's source port into its own
// slice (bpf/lib/lb_mesh_port.h), so flows of one client through two entry hosts are never
// one 4-tuple at a backend. The range is split into 2^(pod bits - cluster bits) equal slices,
// one per pod CIDR of pod's size in the cluster CIDR, and pod's index picks this node's
// (10.42.3.0/24 in 10.42.0.0/16: slice 3 of 256; 1024-65535 gives 252 ports each). pod zero
// (no pod CIDR): the whole range, shared with every other such node. ports zero: translation
// off, zero returned (the client's port is kept, as Cilium's DSR and AWS NLB's client IP
// preservation do; clients that reach one backend from one port through two entry hosts then
// collide there). Errors: an empty range, port 0, a pod CIDR outside the cluster CIDR, fewer
// ports than slices.
func meshPortSlice(ports [2]uint16, cluster, pod netip.Prefix) ([2]uint16, error) {
	if ports == [2]uint16{} {
		return ports, nil
	}
	if ports[0] == 0 || ports[0] > ports[1] {
		return [2]uint16{}, fmt.Errorf("mesh port range %d-%d: want 1 <= first <= last", ports[0], ports[1])
	}
	if !pod.IsValid() {
		return ports, nil
	}
	if pod.Bits() < cluster.Bits() || !cluster.Contains(pod.Addr()) {
		return [2]uint16{}, fmt.Errorf("pod CIDR %s is not inside the cluster CIDR %s", pod, cluster)
	}
	slots := uint32(1) << (pod.Bits() - cluster.Bits())
	size := (uint32(ports[1]) - uint32(ports[0]) + 1) / slots
	if size == 0 {
		return [2]uint16{}, fmt.Errorf("mesh port range %d-%d: fewer ports than the %d pod CIDRs /%d of cluster CIDR %s, want at least one per node",
			ports[0], ports[1], slots, pod.Bits(), cluster)
	}
	p, c := pod.Masked().Addr().As4(), cluster.Masked().Addr().As4()
	slot := (binary.BigEndian.Uint32(p[:]) - binary.BigEndian.Uint32(c[:])) >> (32 - pod.Bits())
	first := uint32(ports[0]) + slot*size
	return [2]uint16{uint16(first), uint16(first + size - 1)}, nil
}
