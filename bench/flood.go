package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// The flood measure (issue 16): the outside machine floods the host of the cross-host pair's
// server with UDP from a denied prefix, as fast as one AF_PACKET sender thread goes, while the
// cross-host TCP stream runs. Each way of dropping is one FloodVariant: ebpfnet's XDP
// prefilter, its tc prefilter (--xdp-mode off) and the kernel baseline's iptables raw
// PREROUTING DROP of the same prefix.

// FloodPrefix is the denied source network the flood comes from (TEST-NET-2, RFC 5737).
var FloodPrefix = netip.MustParsePrefix("198.51.100.0/24")

// floodSource is the flood's source address, inside FloodPrefix.
var floodSource = netip.MustParseAddr("198.51.100.7")

// Flood is where a topology is flooded and the ways it drops the flood.
type Flood struct {
	Sender   string     // namespace of the outside machine that floods
	Target   string     // namespace of the flooded host (the cross pair's server's host)
	TargetIP netip.Addr // its underlay IPv4
	Variants []FloodVariant
}

// FloodVariant is one way a topology drops the flood and the measures it records.
type FloodVariant struct {
	Name   string
	DstMAC net.HardwareAddr // the flood's destination MAC; nil: the target's ul0
	// Enable puts the topology in this variant (e.g. restarts the agent with --xdp-mode).
	Enable func(ctx context.Context) error
	// Drops returns the flood packets this variant has dropped so far.
	Drops func(ctx context.Context) (uint64, error)
	// Measure IDs of drops per second, CPU per million drops above the floor, the floor, the
	// stream's share under the flood and its throughput without flood.
	DropsID, CPUID, FloorID, StreamID, AloneID string
}

// floodRun is what one flood of a variant measured.
type floodRun struct {
	sent, drops uint64
	cpu         time.Duration // sender thread (it runs the receive softirqs it raises) + ksoftirqd
	wall        time.Duration
}

// measureFlood runs variant v of f on t: the stream alone (TCPDuration), the flood alone
// (UDPDuration: drops/s, CPU per million drops), the flood with the stream (the stream's share
// of its unflooded throughput, in %).
func measureFlood(ctx context.Context, t *Topology, f *Flood, v FloodVariant, cfg Config) (map[string]float64, error) {
	if err := v.Enable(ctx); err != nil {
		return nil, err
	}
	alone, err := iperf(ctx, t.Bed, t.Cross, iperfPort, cfg.TCPDuration, false)
	if err != nil {
		return nil, fmt.Errorf("stream without flood: %w", err)
	}
	floor, err := floodFor(ctx, t.Bed, f, sinkVariant(t.Bed), cfg.UDPDuration, nil)
	if err != nil {
		return nil, fmt.Errorf("flood to the sink: %w", err)
	}
	r, err := floodFor(ctx, t.Bed, f, v, cfg.UDPDuration, nil)
	if err != nil {
		return nil, err
	}
	if r.drops == 0 || floor.drops == 0 {
		return nil, fmt.Errorf("%s: %d flood packets sent, %d dropped, %d reached the sink", v.Name, r.sent, r.drops, floor.drops)
	}
	var flooded iperfResult
	_, err = floodFor(ctx, t.Bed, f, v, cfg.TCPDuration, func() (err error) {
		flooded, err = iperf(ctx, t.Bed, t.Cross, iperfPort, cfg.TCPDuration, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stream under flood: %w", err)
	}
	floorPerM := floor.cpu.Seconds() / float64(floor.drops) * 1e6
	out := map[string]float64{
		v.DropsID: float64(r.drops) / r.wall.Seconds() / 1000,
		v.CPUID:   r.cpu.Seconds()/float64(r.drops)*1e6 - floorPerM,
		v.FloorID: floorPerM,
	}
	if alone.Gbps > 0 {
		out[v.StreamID] = 100 * flooded.Gbps / alone.Gbps
		out[v.AloneID] = alone.Gbps
	}
	return out, nil
}

// floodFor floods f's target for d (while during, when not nil, runs) and counts what v
// dropped meanwhile.
func floodFor(ctx context.Context, bed *testbed.Bed, f *Flood, v FloodVariant, d time.Duration, during func() error) (floodRun, error) {
	frame, err := floodFrame(ctx, bed, f, v.DstMAC)
	if err != nil {
		return floodRun{}, err
	}
	soft, err := ksoftirqds()
	if err != nil {
		return floodRun{}, err
	}
	before, err := v.Drops(ctx)
	if err != nil {
		return floodRun{}, err
	}
	softBefore, err := procCPU(soft)
	if err != nil {
		return floodRun{}, err
	}
	type sent struct {
		r   floodRun
		err error
	}
	done := make(chan sent, 1)
	go func() {
		var s sent
		s.err = bed.InNetns(f.Sender, func() error {
			var err error
			s.r, err = sendFlood(frame, d)
			return err
		})
		done <- s
	}()
	var duringErr error
	if during != nil {
		duringErr = during()
	}
	s := <-done
	if s.err != nil {
		return floodRun{}, s.err
	}
	if duringErr != nil {
		return floodRun{}, duringErr
	}
	after, err := v.Drops(ctx)
	if err != nil {
		return floodRun{}, err
	}
	softAfter, err := procCPU(soft)
	if err != nil {
		return floodRun{}, err
	}
	s.r.drops = after - before
	s.r.cpu += softAfter - softBefore
	return s.r, nil
}

// sendFlood sends frame out of eth0 of the current namespace as fast as one thread can for d,
// through an AF_PACKET socket that bypasses the qdisc (packet(7) PACKET_QDISC_BYPASS). It
// returns the frames sent, the wall time and the thread's CPU time (getrusage
// RUSAGE_THREAD): without IRQ time accounting the receive softirqs the sends raise are
// charged to it. The caller has locked the goroutine to its thread (InNetns).
func sendFlood(frame []byte, d time.Duration) (floodRun, error) {
	ifi, err := net.InterfaceByName("eth0")
	if err != nil {
		return floodRun{}, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0) // protocol 0: send only
	if err != nil {
		return floodRun{}, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return floodRun{}, fmt.Errorf("PACKET_QDISC_BYPASS: %w", err)
	}
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index}
	var r floodRun
	var ru0, ru1 unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru0); err != nil {
		return r, err
	}
	start := time.Now()
	for deadline := start.Add(d); ; {
		for range 256 {
			if err := unix.Sendto(fd, frame, 0, to); err == nil {
				r.sent++
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	r.wall = time.Since(start)
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru1); err != nil {
		return r, err
	}
	r.cpu = time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	return r, nil
}

// floodFrame is a 60-byte UDP frame from floodSource to f's target (port 9, discard), from the
// sender's eth0 MAC to dst, nil: the target's ul0 MAC.
func floodFrame(ctx context.Context, bed *testbed.Bed, f *Flood, dst net.HardwareAddr) ([]byte, error) {
	src, err := linkMAC(ctx, bed, f.Sender, "eth0")
	if err != nil {
		return nil, err
	}
	if dst == nil {
		if dst, err = linkMAC(ctx, bed, f.Target, "ul0"); err != nil {
			return nil, err
		}
	}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: floodSource.AsSlice(), DstIP: f.TargetIP.AsSlice()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 9}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(make([]byte, 18)))
	return buf.Bytes(), err
}

// linkMAC is the MAC address of device dev in namespace ns.
func linkMAC(ctx context.Context, bed *testbed.Bed, ns, dev string) (net.HardwareAddr, error) {
	out, err := bed.Run(ctx, ns, "ip", "-br", "link", "show", "dev", dev)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		return nil, fmt.Errorf("ip -br link show %s in %s: %q", dev, ns, out)
	}
	return net.ParseMAC(f[2])
}

// ksoftirqds are the PIDs of the ksoftirqd/N threads, which run the receive softirqs that
// overflow the sender's context.
func ksoftirqds() ([]int, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), "ksoftirqd/") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// iptablesRawDrops is the packet counter of the iptables raw PREROUTING DROP rule of prefix
// in namespace ns.
func iptablesRawDrops(ctx context.Context, bed *testbed.Bed, ns string, prefix netip.Prefix) (uint64, error) {
	out, err := bed.Run(ctx, ns, "iptables", "-w", "-t", "raw", "-L", "PREROUTING", "-n", "-v", "-x")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 8 && f[2] == "DROP" && f[7] == prefix.String() {
			return strconv.ParseUint(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no raw PREROUTING DROP rule for %s in %s: %s", prefix, ns, out)
}

// floods runs every flood variant of every topology cfg.Runs times, interleaved (the order
// rotates per run); a failed run is recorded on the variant's measures.
func floods(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	type job struct {
		t *Topology
		v FloodVariant
	}
	var jobs []job
	for _, t := range topos {
		if t.Flood != nil {
			for _, v := range t.Flood.Variants {
				jobs = append(jobs, job{t, v})
			}
		}
	}
	for run := 0; run < cfg.Runs; run++ {
		for i := range jobs {
			j := jobs[(i+run)%len(jobs)]
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ids := []string{j.v.DropsID, j.v.CPUID, j.v.FloorID, j.v.StreamID, j.v.AloneID}
			vals, err := measureFlood(ctx, j.t, j.t.Flood, j.v, cfg)
			name := fmt.Sprintf("%s (%s)", phaseFlood, j.v.Name)
			if err != nil {
				for _, id := range ids {
					res.Fail(id, j.t.Name, err)
				}
				logf(cfg.Log, "  %-20s run %d/%d %-8s FAILED: %v", name, run+1, cfg.Runs, j.t.Name, err)
				continue
			}
			for _, id := range ids {
				if v, ok := vals[id]; ok {
					res.Add(id, j.t.Name, v)
				}
			}
			logf(cfg.Log, "  %-20s run %d/%d %-8s %s", name, run+1, cfg.Runs, j.t.Name, describe(ids, vals))
		}
	}
	return nil
}

// The floor of the flood's cost: the same frames switched by the underlay bridge to a sink, a
// veth port of the bridge (sinkPort) whose other end (sinkDev, in the switch's namespace)
// discards them at the cheapest point of the kernel's receive path, ip_rcv's PACKET_OTHERHOST
// check (the frames carry sinkMAC, which the bridge forwards to the port by a static FDB
// entry). Sending and switching cost the same as for the target, so a variant's CPU per drop
// minus the floor's per frame is what the variant spends on receiving and dropping beyond
// that cheapest discard.
const (
	sinkPort = "flood-sink0"
	sinkDev  = "flood-sink1"
)

var sinkMAC = net.HardwareAddr{0x02, 0, 0, 0, 0xf1, 0x00}

// addFloodSink creates the sink in the underlay switch's namespace "sw" of bed.
func addFloodSink(ctx context.Context, bed *testbed.Bed) error {
	for _, argv := range [][]string{
		{"ip", "link", "add", sinkPort, "type", "veth", "peer", "name", sinkDev},
		{"ip", "link", "set", sinkPort, "master", "br0", "up"},
		{"ip", "link", "set", sinkDev, "up"},
		{"bridge", "fdb", "add", sinkMAC.String(), "dev", sinkPort, "master", "static"},
	} {
		if _, err := bed.Run(ctx, "sw", argv...); err != nil {
			return err
		}
	}
	return nil
}

// sinkVariant floods the sink: its "drops" are the frames the sink device received.
func sinkVariant(bed *testbed.Bed) FloodVariant {
	return FloodVariant{Name: "sink", DstMAC: sinkMAC, Drops: func(ctx context.Context) (uint64, error) {
		out, err := bed.Run(ctx, "sw", "ip", "-s", "-j", "link", "show", "dev", sinkDev)
		if err != nil {
			return 0, err
		}
		var links []struct {
			Stats struct {
				RX struct {
					Packets uint64 `json:"packets"`
				} `json:"rx"`
			} `json:"stats64"`
		}
		if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
			return 0, fmt.Errorf("ip -s -j link show %s: %v: %s", sinkDev, err, out)
		}
		return links[0].Stats.RX.Packets, nil
	}}
}
