package bench

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sockperfOut = "sockperf: \x1b[2;35m== version #3.7-no.git == \x1b[0m\n" +
	"sockperf: [Total Run] RunTime=2.000 sec; Warm up time=400 msec; SentMessages=140873; ReceivedMessages=140872\n" +
	"sockperf: ========= Printing statistics for Server No: 0\n" +
	"sockperf: [Valid Duration] RunTime=1.550 sec; SentMessages=109920; ReceivedMessages=109920\n" +
	"sockperf: \x1b[2;35m====> avg-rtt=14.081 (std-dev=35.493)\x1b[0m\n" +
	"sockperf: ---> <MAX> observation = 4950.017\n" +
	"sockperf: ---> percentile 99.999 = 4865.031\n" +
	"sockperf: ---> percentile 99.000 =   28.962\n" +
	"sockperf: ---> percentile 90.000 =   13.700\n" +
	"sockperf: ---> percentile 50.000 =   13.059\n" +
	"sockperf: ---> <MIN> observation =   12.067\n"

func TestParseSockperf(t *testing.T) {
	r, err := parseSockperf(sockperfOut)
	require.NoError(t, err)
	require.InDelta(t, 109920/1.55, r.PerSec, 0.01)
	require.Equal(t, 13.059, r.P50)
	require.Equal(t, 28.962, r.P99)

	_, err = parseSockperf("sockperf: ERROR: connect failed")
	require.ErrorContains(t, err, "no [Valid Duration] line")
}

func TestParseIperf(t *testing.T) {
	tcp := `{"start":{},"end":{"sum_sent":{"seconds":10,"bits_per_second":1.61e10,"retransmits":3},
		"sum_received":{"seconds":10.0002,"bytes":20125000000,"bits_per_second":1.6e10},
		"cpu_utilization_percent":{"host_total":60.5,"remote_total":27.5}}}`
	r, err := parseIperf(tcp, false)
	require.NoError(t, err)
	require.InDelta(t, 16.0, r.Gbps, 1e-9)
	require.InDelta(t, 88.0/16.0, r.CPUPerGbps, 1e-9)
	require.Zero(t, r.RxPPS)

	udp := `{"end":{"sum_received":{"seconds":2.0,"bytes":14945792,"bits_per_second":5.9e7,
		"packets":334600,"lost_packets":101072},"cpu_utilization_percent":{"host_total":59.6,"remote_total":34.9}}}`
	r, err = parseIperf(udp, true)
	require.NoError(t, err)
	require.InDelta(t, (334600-101072)/2.0, r.RxPPS, 1e-9)

	_, err = parseIperf(`{"error":"unable to connect to server: Connection refused"}`, false)
	require.ErrorContains(t, err, "Connection refused")
	_, err = parseIperf("iperf3: error", false)
	require.ErrorContains(t, err, "iperf3 JSON")
}

const wrkOut = `Running 1s test @ http://172.31.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.01ms    2.10ms  30.12ms   80.00%
    Req/Sec     5.50k   400.00     6.10k    70.00%
  10916 requests in 1.00s, 1.67MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:  10916.00
Transfer/sec:      1.67MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOut)
	require.NoError(t, err)
	require.Equal(t, 10916.0, r.PerSec)
	require.Equal(t, int64(10916), r.Requests)
	require.Equal(t, int64(4), r.SocketErrors)
	require.Equal(t, int64(2), r.Non2xx)

	_, err = parseWrk("unable to connect to 172.31.0.1:8080 Connection refused")
	require.Error(t, err)
	_, err = parseWrk("  0 requests in 1.00s, 0B read\nRequests/sec:      0.00\n")
	require.ErrorContains(t, err, "no request completed")
}

func TestFillerRules(t *testing.T) {
	subnet, ip := mustPrefix("10.42.1.0/24"), mustAddr("10.42.1.2")
	rules := fillerRules("net", "fill", subnet, ip, 20000, 20030, true)
	lines := strings.Split(strings.TrimSpace(rules), "\n")
	chain := portmapChainName("net", "fill")
	require.Len(t, chain, len("CNI-DN-")+21)
	require.Equal(t, "*nat", lines[0])
	require.Equal(t, ":"+chain+" - [0:0]", lines[1])
	require.Equal(t, "COMMIT", lines[len(lines)-1])
	var jumps, dnat, marks int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "-I CNI-HOSTPORT-DNAT 1 "):
			jumps++
			require.Contains(t, l, "-j "+chain)
		case strings.Contains(l, "-j DNAT"):
			dnat++
		case strings.Contains(l, "-j CNI-HOSTPORT-SETMARK"):
			marks++
		}
	}
	require.Equal(t, 3, jumps, "31 ports in multiport chunks of 15")
	require.Equal(t, 31, dnat)
	require.Equal(t, 62, marks)
	require.Contains(t, rules, "--dports 20030 -j")
	require.Contains(t, rules, "--dport 20030 -j DNAT --to-destination 10.42.1.2:20030")
	require.NotContains(t, fillerRules("net", "fill", subnet, ip, 1, 1, false), ":"+chain)
}

func TestSeriesAndTargets(t *testing.T) {
	r := NewResults(Measures([]int{1, 10}))
	for _, v := range []float64{12, 10, 11} {
		r.Add(MTCPCross, TopoEbpfnet, v)
	}
	for _, v := range []float64{8, 10} {
		r.Add(MTCPCross, TopoKernel, v)
	}
	r.Add(MAddPort, TopoEbpfnet, 2)
	r.Add(MAddPort, TopoKernel, 50)
	r.Fail(MTCPSame, TopoKernel, errTest("boom"))
	s := r.Get(MTCPCross, TopoEbpfnet)
	require.Equal(t, 11.0, s.Median)
	require.InDelta(t, 2.0/11*100, s.SpreadPct, 1e-9)
	require.Equal(t, 9.0, r.Get(MTCPCross, TopoKernel).Median)
	require.Equal(t, 1, r.Failures())

	ts := Targets(r, 10)
	byMeasure := map[string]Target{}
	for _, tg := range ts {
		if tg.Against == TopoKernel {
			byMeasure[tg.Measure] = tg
		}
	}
	require.InDelta(t, 11.0/9, byMeasure[MTCPCross].Got, 1e-9)
	require.False(t, byMeasure[MTCPCross].Met)
	require.InDelta(t, 25.0, byMeasure[MAddPort].Got, 1e-9)
	require.True(t, byMeasure[MAddPort].Met)
	require.False(t, byMeasure[MTCPSame].Known)

	var b strings.Builder
	WriteTable(&b, r, 3)
	WriteTargets(&b, ts)
	require.Contains(t, b.String(), "11.0 [10.0-12.0]")
	require.Contains(t, b.String(), "FAILED")
	require.Contains(t, b.String(), "25.000x  met")
}

func TestConfigAndHelpers(t *testing.T) {
	require.NoError(t, FullConfig().Validate())
	require.NoError(t, SmokeConfig().Validate())
	bad := FullConfig()
	bad.PortCounts = []int{1, 10, 10}
	require.Error(t, bad.Validate())
	bad.PortCounts = []int{1, 10, 5}
	require.Error(t, bad.Validate())
	bad.PortCounts = []int{1, 30000}
	require.Error(t, bad.Validate())
	require.Equal(t, "10,000", groupDigits(10000))
	require.Equal(t, "999", groupDigits(999))
	require.Equal(t, "1", secs(300*time.Millisecond))
	require.Equal(t, "10", secs(10*time.Second))
	a, b, c := &Topology{Name: "a"}, &Topology{Name: "b"}, &Topology{Name: "c"}
	require.Equal(t, []*Topology{b, c, a}, rotate([]*Topology{a, b, c}, 1))
	require.Equal(t, "0e:00:ac:1f:00:02", vtepMAC(mustAddr("172.31.0.2")))
	require.Equal(t, "TCP RR p50,\nsame host", wrapLabel("TCP RR p50, same host", 12))
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestWriteChart(t *testing.T) {
	r := NewResults(Measures([]int{1}))
	r.Add(MTCPCross, TopoEbpfnet, 15)
	r.Add(MTCPCross, TopoKernel, 10)
	r.Add(MTCPCross, TopoCeiling, 20)
	r.Add(MRRCrossP99, TopoEbpfnet, 20)
	r.Add(MRRCrossP99, TopoKernel, 200)
	path := filepath.Join(t.TempDir(), "c.png")
	require.NoError(t, WriteChart(path, "test", r))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "\x89PNG", string(b[:4]))
	require.Error(t, WriteChart(path, "empty", NewResults(nil)))
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// TestStatTicks reads utime + stime of a /proc/PID/stat line whose command name holds spaces
// and parentheses, and refuses malformed lines.
func TestStatTicks(t *testing.T) {
	line := "4242 (ebpfnet wg) (x)) S 1 4242 4242 0 -1 4194560 120 0 0 0 137 42 0 0 20 0 9 0 1000 0 0\n"
	got, err := statTicks(line)
	require.NoError(t, err)
	require.Equal(t, uint64(137+42), got)
	_, err = statTicks("4242 ebpfnet S 1")
	require.Error(t, err)
	_, err = statTicks("4242 (ebpfnet) S 1 2 3")
	require.Error(t, err)
}
