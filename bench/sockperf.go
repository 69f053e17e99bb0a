package bench

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// rrResult is one TCP request/response (ping-pong) run.
type rrResult struct {
	PerSec float64 // round trips per second
	P50    float64 // round-trip time, microseconds
	P99    float64
}

var (
	ansiRE      = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	spValidRE   = regexp.MustCompile(`\[Valid Duration\] RunTime=([0-9.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)`)
	spPercentRE = regexp.MustCompile(`percentile (\d+\.\d+) =\s*([0-9.]+)`)
)

// parseSockperf reads a `sockperf ping-pong --full-rtt` client report.
func parseSockperf(out string) (rrResult, error) {
	out = ansiRE.ReplaceAllString(out, "")
	m := spValidRE.FindStringSubmatch(out)
	if m == nil {
		return rrResult{}, fmt.Errorf("sockperf: no [Valid Duration] line: %s", lastLines(out, 3))
	}
	runtime, _ := strconv.ParseFloat(m[1], 64)
	recv, _ := strconv.ParseFloat(m[3], 64)
	if runtime <= 0 || recv <= 0 {
		return rrResult{}, fmt.Errorf("sockperf: no round trips (%s)", m[0])
	}
	r := rrResult{PerSec: recv / runtime}
	for _, pm := range spPercentRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		switch pm[1] {
		case "50.000":
			r.P50 = v
		case "99.000":
			r.P99 = v
		}
	}
	if r.P50 == 0 || r.P99 == 0 {
		return rrResult{}, fmt.Errorf("sockperf: no 50th/99th percentile: %s", lastLines(out, 3))
	}
	return r, nil
}

// sockperfRR runs a TCP ping-pong of 64-byte messages, one outstanding at a time, from
// pair.Client to a sockperf server on pair.Server for d, both pinned to one CPU (see pinned).
func sockperfRR(ctx context.Context, bed *testbed.Bed, pair Pair, port int, d time.Duration) (rrResult, error) {
	p := strconv.Itoa(port)
	srv, err := startServer(ctx, bed, pair.Server, port, pinned("sockperf", "server", "--tcp", "-i", pair.ServerIP.String(), "-p", p)...)
	if err != nil {
		return rrResult{}, err
	}
	defer srv.Stop()
	out, err := runOut(ctx, bed, pair.Client, d+30*time.Second,
		pinned("sockperf", "ping-pong", "--tcp", "-i", pair.ServerIP.String(), "-p", p, "-t", secs(d), "-m", "64", "--full-rtt")...)
	if err != nil {
		return rrResult{}, err
	}
	return parseSockperf(out)
}
