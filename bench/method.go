package bench

import (
	"fmt"
	"io"
)

// Methodology describes how cfg measures, one line per measure family, for the report and
// the JSON file.
func Methodology(cfg Config) []string {
	return []string{
		fmt.Sprintf("topologies: 2 hosts x 2 containers, veth underlay on a bridge (MTU 1500, containers 1450), outside machine on the same switch; %d interleaved run(s), order rotated per run", cfg.Runs),
		fmt.Sprintf("TCP: iperf3 one stream for %s, unpinned (both CPUs); CPU per Gbit/s = (client + server cpu_utilization_percent) / Gbit/s", cfg.TCPDuration),
		fmt.Sprintf("RR: sockperf ping-pong, TCP, 64 B, --full-rtt, %s; client and server pinned to one CPU (avoids the VM's ~40 us cross-CPU wake-up)", cfg.RRDuration),
		fmt.Sprintf("UDP: iperf3 -u -l 64 -b 0 for %s, pinned to one CPU; datagrams received per second", cfg.UDPDuration),
		fmt.Sprintf("conn/s: wrk -t%d -c%d -H 'Connection: close' for %s from the outside machine to h1:%d, nginx (1 worker) in c2; all on one CPU; ceiling: nginx on h1 itself", wrkThreads, wrkConnections, cfg.ConnDuration, WebHostPort),
		fmt.Sprintf("published ports: nginx's mapping via `ebpfnet publish add` / CNI portmap (cnitool); the other N-1 (container c1, ports %d+) as one ebpfnet range / portmap-layout rules by iptables-restore, their multiport jumps ahead of nginx's", FillerBasePort),
		fmt.Sprintf("encrypted: iperf3 one stream for %s, c1 (h1) -> c3 (h2) of ebpfnet with --encryption wireguard (userspace ebpfnet-wireguard where the kernel has no WireGuard, container MTU 1390) vs the ceiling column: the same ebpfnet-wireguard as a plain tunnel between h1 and h2 (device MTU 1440); CPU per Gbit/s as for TCP plus the CPU time (/proc/PID/stat utime+stime) of both hosts' WireGuard helper processes, which do the encryption", cfg.TCPDuration),
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
