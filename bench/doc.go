// Package bench measures ebpfnet against a kernel baseline and a no-overlay ceiling on
// identical network-namespace topologies built with the testbed package: two hosts with two
// containers each on a veth underlay (MTU 1500, containers 1450) plus a machine outside the
// cluster on the same underlay switch.
//
// The three topologies are:
//
//   - ebpfnet: real agents, endpoints, peers and published ports through the ebpfnet CLI, as
//     the end-to-end tests build them;
//   - kernel: the CNI bridge, host-local and portmap plugins driven by cnitool, a kernel VXLAN
//     device with static FDB and neighbour entries between the hosts, and iptables MASQUERADE
//     and DNAT (see baseline.go);
//   - ceiling: the two host namespaces talking directly over the underlay, no overlay; same
//     host, two namespaces joined by one veth pair (no BPF, no bridge).
//
// Every series reports median, range and interquartile range (NoiseBound names the noisy
// ones); each run is kept under HistoryDir and compared with the previous one (Compare).
//
// Tools (Debian packages) do the measuring inside the namespaces: iperf3 (TCP throughput,
// CPU use, UDP 64-byte packet rate), sockperf (TCP request/response), nginx and wrk (new
// connections per second through a published port). Run orchestrates repeated, interleaved
// runs; Report, WriteJSON and WriteChart present the results.
package bench
