package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// iperfResult is what one iperf3 run yields.
type iperfResult struct {
	Gbps       float64 // receiver goodput, Gbit/s
	CPUPerGbps float64 // (sender + receiver CPU %) / Gbit/s; 0 when not reported
	RxPPS      float64 // UDP: datagrams received per second
}

// iperfJSON is the subset of `iperf3 -c ... -J` output we read.
type iperfJSON struct {
	End struct {
		SumReceived struct {
			Seconds       float64 `json:"seconds"`
			Bytes         int64   `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Packets       int64   `json:"packets"`      // UDP: sent, as counted by the sender
			LostPackets   int64   `json:"lost_packets"` // UDP: not received
		} `json:"sum_received"`
		CPU struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
	Error string `json:"error"`
}

// parseIperf turns client JSON into an iperfResult; udp selects the packet-rate figure.
func parseIperf(out string, udp bool) (iperfResult, error) {
	var j iperfJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		return iperfResult{}, fmt.Errorf("iperf3 JSON: %w: %s", err, lastLines(out, 3))
	}
	if j.Error != "" {
		return iperfResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	r := j.End.SumReceived
	if r.Seconds <= 0 {
		return iperfResult{}, fmt.Errorf("iperf3: no receiver summary: %s", lastLines(out, 3))
	}
	res := iperfResult{Gbps: r.BitsPerSecond / 1e9}
	if cpu := j.End.CPU.HostTotal + j.End.CPU.RemoteTotal; cpu > 0 && res.Gbps > 0 {
		res.CPUPerGbps = cpu / res.Gbps
	}
	if udp {
		res.RxPPS = float64(max(0, r.Packets-r.LostPackets)) / r.Seconds
	}
	return res, nil
}

// iperf runs one iperf3 test from pair.Client to a one-shot server on pair.Server at
// pair.ServerIP:port. udp switches to 64-byte UDP datagrams sent as fast as possible, with
// both ends pinned to one CPU (see pinned); a TCP stream runs unpinned over both CPUs.
func iperf(ctx context.Context, bed *testbed.Bed, pair Pair, port int, d time.Duration, udp bool) (iperfResult, error) {
	p := strconv.Itoa(port)
	pin := func(argv ...string) []string { return argv }
	if udp {
		pin = pinned
	}
	srv, err := startServer(ctx, bed, pair.Server, port, pin("iperf3", "-s", "-1", "-B", pair.ServerIP.String(), "-p", p)...)
	if err != nil {
		return iperfResult{}, err
	}
	defer srv.Stop()
	argv := pin("iperf3", "-c", pair.ServerIP.String(), "-p", p, "-t", secs(d), "--connect-timeout", "3000", "-J")
	if udp {
		argv = append(argv, "-u", "-l", "64", "-b", "0")
	}
	out, runErr := runOut(ctx, bed, pair.Client, d+30*time.Second, argv...)
	res, err := parseIperf(out, udp)
	if err != nil && runErr != nil {
		return res, fmt.Errorf("%w (%v)", err, runErr)
	}
	return res, err
}

// secs formats d as whole seconds, at least 1.
func secs(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// Pair is a client and a server namespace and the address the client reaches the server at.
type Pair struct {
	Client, Server string
	ServerIP       netip.Addr
}
