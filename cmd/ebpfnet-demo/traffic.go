package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// result is the outcome of one ordered container pair.
type result struct {
	from, to *testbed.Container
	ping     testbed.PingStats
	pingErr  error
	tcp      testbed.Transfer
	tcpErr   error
	skipped  bool // not run: interrupted
}

// path is "same-host" or "cross-host".
func (r result) path() string {
	if r.from.Host == r.to.Host {
		return "same-host"
	}
	return "cross-host"
}

// ok reports whether all pings were answered and TCP moved data.
func (r result) ok() bool {
	return !r.skipped && r.pingErr == nil && r.tcpErr == nil &&
		r.ping.Sent == pingCount && r.ping.Received == pingCount && r.tcp.Bytes > 0
}

// pairCount is the number of ordered container pairs.
func pairCount() int { return len(containers) * (len(containers) - 1) }

// traffic pings and runs a TCP transfer for every ordered container pair, one pair at a time
// (so throughput numbers do not compete), printing a progress mark per pair. After a signal
// the remaining pairs are marked skipped.
func (d *demo) traffic() []result {
	var rs []result
	for _, from := range d.cluster.Containers {
		for _, to := range d.cluster.Containers {
			if from == to {
				continue
			}
			r := result{from: from, to: to}
			if d.ctx.Err() != nil {
				r.skipped = true
				rs = append(rs, r)
				continue
			}
			r.ping, r.pingErr = d.bed.Ping(d.ctx, from.Name, to.IP, pingCount, pingIvl)
			if d.ctx.Err() == nil {
				r.tcp, r.tcpErr = d.bed.TCPTransfer(d.ctx, from.Name, to.Name, to.IP, tcpPort, tcpDuration)
			}
			if d.ctx.Err() != nil && !r.ok() {
				r.skipped = true
			}
			switch {
			case r.ok():
				fmt.Print(".")
			case !r.skipped:
				fmt.Print("x")
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// failed counts the pairs that did not pass.
func failed(rs []result) int {
	n := 0
	for _, r := range rs {
		if !r.ok() {
			n++
		}
	}
	return n
}

// printResults prints the result table and, below it, why failed pairs failed.
func printResults(rs []result) {
	fmt.Printf("Results: ping (%d echoes, %s apart) and %s TCP transfer (iperf3, port %d) per pair\n\n",
		pingCount, pingIvl, tcpDuration, tcpPort)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  FROM\tTO\tPATH\tPING\tTCP (Gbit/s)\tRESULT")
	for _, r := range rs {
		ping, tcp := "-", "-"
		if r.pingErr != nil {
			ping = "error"
		} else if r.ping.Sent > 0 {
			ping = fmt.Sprintf("%d/%d", r.ping.Received, r.ping.Sent)
		}
		if r.tcpErr != nil {
			tcp = "error"
		} else if r.tcp.Seconds > 0 {
			tcp = fmt.Sprintf("%.2f", r.tcp.Gbps)
		}
		verdict := "OK"
		switch {
		case r.skipped:
			verdict = "SKIPPED"
		case !r.ok():
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "  %s %s\t%s %s\t%s %s\t%s\t%s\t%s\n",
			r.from.Name, r.from.IP, r.to.Name, r.to.IP, r.path(), hostsOf(r), ping, tcp, verdict)
	}
	tw.Flush()
	fmt.Printf("\n  %d of %d pairs OK\n", len(rs)-failed(rs), len(rs))
	for _, r := range rs {
		if r.ok() || r.skipped {
			continue
		}
		fmt.Printf("  %s -> %s:", r.from.Name, r.to.Name)
		if r.pingErr != nil {
			fmt.Printf(" ping: %s;", oneLine(r.pingErr.Error()))
		} else if r.ping.Received != r.ping.Sent {
			fmt.Printf(" ping: %d of %d echoes answered;", r.ping.Received, r.ping.Sent)
		}
		if r.tcpErr != nil {
			fmt.Printf(" tcp: %s", oneLine(r.tcpErr.Error()))
		} else if r.tcp.Bytes == 0 {
			fmt.Printf(" tcp: no data received")
		}
		fmt.Println()
	}
}

// hostsOf returns "(h1)" for same-host pairs and "(h1->h2)" for cross-host ones.
func hostsOf(r result) string {
	if r.from.Host == r.to.Host {
		return "(" + r.from.Host.Name + ")"
	}
	return "(" + r.from.Host.Name + "->" + r.to.Host.Name + ")"
}

// oneLine squeezes an error onto one line of bounded length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// elapsed formats a duration since t in seconds.
func elapsed(t time.Time) string { return fmt.Sprintf("%.1fs", time.Since(t).Seconds()) }
