package bench

import (
	"fmt"
	"io"
)

// Methodology describes how cfg measures, one line per measure family, for the report and
// the JSON file.
func Methodology(cfg Config) []string {
	return []string{
		fmt.Sprintf("topologies: 2 hosts x 2 containers, veth underlay on a bridge (MTU 1500, containers 1450), outside machine on the same switch; %d interleaved run(s), order rotated per run; median [min-max] and IQR (type-7 quartiles) per series; ceiling same host: two namespaces joined by one veth pair (MTU 1450, no BPF, no bridge)", cfg.Runs),
		"BIG TCP: ebpfnet's agent raises gso/gro_ipv4_max_size of its underlay and container veths to 192 KiB by default (--big-tcp); the underlay switch's ports carry such packets like a wire and run no br_netfilter hooks, in every topology; the rows \"BIG TCP on every device\" raise every link of every topology (clamped to the device's tso_max_size: a kernel VXLAN device stays at 64 KiB) for the run and restore it after",
		fmt.Sprintf("TCP: iperf3 one stream for %s, unpinned (both CPUs); CPU per Gbit/s = (client + server cpu_utilization_percent) / Gbit/s", cfg.TCPDuration),
		fmt.Sprintf("RR: sockperf ping-pong, TCP, 64 B, --full-rtt, %s; client and server pinned to one CPU (avoids the VM's ~40 us cross-CPU wake-up)", cfg.RRDuration),
		fmt.Sprintf("UDP: iperf3 -u -l 64 -b 0 for %s, pinned to one CPU; datagrams received per second", cfg.UDPDuration),
		fmt.Sprintf("conn/s: wrk -t%d -c%d -H 'Connection: close' for %s from the outside machine to h1:%d, nginx (1 worker) in c2; all on one CPU; ceiling: nginx on h1 itself", wrkThreads, wrkConnections, cfg.ConnDuration, WebHostPort),
		fmt.Sprintf("published ports: nginx's mapping via `ebpfnet publish add` / CNI portmap (cnitool); the other N-1 (container c1, ports %d+) as one ebpfnet range / portmap-layout rules by iptables-restore, their multiport jumps ahead of nginx's", FillerBasePort),
		fmt.Sprintf("encrypted: iperf3 one stream for %s, c1 (h1) -> c3 (h2) of ebpfnet with --encryption wireguard (userspace ebpfnet-wireguard where the kernel has no WireGuard, container MTU 1390) vs the ceiling column: the same ebpfnet-wireguard as a plain tunnel between h1 and h2 (device MTU 1440); CPU per Gbit/s as for TCP plus the CPU time (/proc/PID/stat utime+stime) of both hosts' WireGuard helper processes, which do the encryption", cfg.TCPDuration),
		fmt.Sprintf("routing mesh: wrk as for conn/s from the outside machine to h1:%d, a service balanced over nginx in two containers of h2 (remote backends); ebpfnet: `service add --publish` on an etcd store (services see other hosts' endpoints only there); kernel: kube-proxy's iptables-mode rules by iptables-restore (ClusterIP rules in KUBE-SERVICES, NodePort in KUBE-NODEPORTS, statistic --mode random per backend, NodePort traffic masqueraded); the other N-1 services (same backends, ports %d+) added before measuring at N; connect p99: %d sequential connect() calls from the outside machine, each closed at once", MeshPort, meshFillerPort, meshDials(cfg)),
		fmt.Sprintf("flood: one AF_PACKET thread in the outside machine sends 60-byte UDP frames from %s (denied: ebpfnet `prefilter add`, XDP native or --xdp-mode off; kernel: iptables -t raw -A PREROUTING -s ... -j DROP) to h2 for %s: drops/s from the drop counter; CPU = the sender thread's getrusage (which carries the receive softirqs it raises) + ksoftirqd, per drop, minus the floor: the same frames switched to a sink port of the underlay bridge and discarded by ip_rcv as PACKET_OTHERHOST, per frame; then %s of flood during the c1 -> c3 iperf3 stream, whose throughput is divided by that of the same stream just before without flood", floodSource, cfg.UDPDuration, cfg.TCPDuration),
		"add 1 port: wall time of the `ebpfnet publish add` process (and of the agent API call alone) vs the portmap plugin's ADD and one `iptables -t nat -A` DNAT rule, each run in h1's namespace and undone after",
	}
}

// WriteMethodology prints the methodology lines.
func WriteMethodology(w io.Writer, lines []string) {
	fmt.Fprintln(w, "\nMethod:")
	for _, l := range lines {
		fmt.Fprintln(w, "  - "+l)
	}
}
