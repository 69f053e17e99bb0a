package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"time"
)

// PingStats is the summary of one ping run: echo requests sent and echo
// replies received.
type PingStats struct {
	Sent, Received int
}

// pingSummaryRE matches iputils' and busybox's summary line, e.g.
// "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2043ms".
var pingSummaryRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// Ping runs `ping -n -q -c count -i interval -W 1 [extra...] ip` in namespace ns and
// parses the summary line. interval <= 0 means 1s; it is passed to ping in
// seconds (sub-second values need root, which the bed needs anyway). If ctx
// has no deadline, count*interval+10s applies. 100% loss is not an error
// (Received is 0); the error is non-nil only if ping could not run or its
// output has no summary (e.g. "Network is unreachable"), and includes the
// output.
func (b *Bed) Ping(ctx context.Context, ns string, ip netip.Addr, count int, interval time.Duration, extra ...string) (PingStats, error) {
	if count < 1 || !ip.IsValid() {
		return PingStats{}, fmt.Errorf("ping %s from %q: need count >= 1 and a valid address (count %d)", ip, ns, count)
	}
	if interval <= 0 {
		interval = time.Second
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(count)*interval+10*time.Second)
		defer cancel()
	}
	iv := strconv.FormatFloat(interval.Seconds(), 'f', -1, 64)
	argv := append([]string{"ping", "-n", "-q", "-c", strconv.Itoa(count), "-i", iv, "-W", "1"}, extra...)
	out, runErr := b.Run(ctx, ns, append(argv, ip.String())...)
	st, err := parsePing(out)
	if err != nil {
		if runErr != nil {
			return PingStats{}, fmt.Errorf("ping %s from %q: %w", ip, ns, runErr)
		}
		return PingStats{}, fmt.Errorf("ping %s from %q: %w", ip, ns, err)
	}
	return st, nil
}

// parsePing extracts PingStats from ping output.
func parsePing(out string) (PingStats, error) {
	m := pingSummaryRE.FindStringSubmatch(out)
	if m == nil {
		return PingStats{}, fmt.Errorf("no summary line in ping output: %q", tail(out))
	}
	sent, _ := strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	return PingStats{Sent: sent, Received: recv}, nil
}
