package testbed

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePing(t *testing.T) {
	cases := map[string]struct {
		out  string
		want PingStats
	}{
		"iputils ok": {`PING 10.99.0.2 (10.99.0.2) 56(84) bytes of data.

--- 10.99.0.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 402ms
rtt min/avg/max/mdev = 0.030/0.041/0.055/0.010 ms
`, PingStats{3, 3}},
		"iputils loss": {`--- 10.99.0.77 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2043ms
`, PingStats{3, 0}},
		"busybox": {"3 packets transmitted, 2 packets received, 33% packet loss\n", PingStats{3, 2}},
	}
	for name, c := range cases {
		got, err := parsePing(c.out)
		require.NoError(t, err, name)
		require.Equal(t, c.want, got, name)
	}
	_, err := parsePing("ping: connect: Network is unreachable\n")
	require.ErrorContains(t, err, "no summary line")
}

func TestParseIperf(t *testing.T) {
	r, err := parseIperf(`{"end":{"sum_sent":{"bytes":2000,"retransmits":7,"packets":100},
		"sum_received":{"seconds":1.0,"bytes":1900,"bits_per_second":15200,"packets":100,"lost_packets":4,"jitter_ms":0.5}}}`)
	require.NoError(t, err)
	require.Equal(t, int64(1900), r.End.SumReceived.Bytes)
	require.Equal(t, 7, r.End.SumSent.Retransmits)
	require.Equal(t, UDPStats{Sent: 100, Received: 96, LossPercent: 4, Bytes: 1900, JitterMs: 0.5}, udpStats(r))

	_, err = parseIperf(`{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}`)
	require.EqualError(t, err, "iperf3: unable to connect to server: Connection refused")

	_, err = parseIperf("iperf3: error - garbage")
	require.ErrorContains(t, err, "parse iperf3 JSON")
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"", "-x", "a b", "a/b", strings.Repeat("a", 17)} {
		_, err := New(p)
		require.ErrorContains(t, err, "invalid prefix", p)
	}
	require.Regexp(t, `^t[0-9a-f]{4}$`, UniquePrefix("t"))
}
