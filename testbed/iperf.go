package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// iperfReport is the subset of `iperf3 -J` client output we use.
type iperfReport struct {
	End struct {
		SumSent     iperfSum `json:"sum_sent"`
		SumReceived iperfSum `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
	// ClientSeen is the client address as the server saw it (from the server's own report).
	ClientSeen netip.Addr `json:"-"`
}

// iperfServerReport is the subset of `iperf3 -s -J` output naming the connected client.
type iperfServerReport struct {
	Start struct {
		Connected []struct {
			RemoteHost string `json:"remote_host"`
		} `json:"connected"`
	} `json:"start"`
}

// clientSeenBy waits (up to 5 s) for the one-shot server srv to exit and returns the client
// address from its JSON report, or the zero Addr if it has none.
func clientSeenBy(srv *Proc) netip.Addr {
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		return netip.Addr{}
	}
	var r iperfServerReport
	if json.Unmarshal([]byte(srv.Log()), &r) != nil || len(r.Start.Connected) == 0 {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(r.Start.Connected[0].RemoteHost)
	return a.Unmap()
}

// iperfSum is one end.sum_* object of iperf3 JSON.
type iperfSum struct {
	Seconds       float64 `json:"seconds"`
	Bytes         int64   `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Retransmits   int     `json:"retransmits"`  // TCP sender only
	JitterMs      float64 `json:"jitter_ms"`    // UDP only
	LostPackets   int64   `json:"lost_packets"` // UDP only
	Packets       int64   `json:"packets"`      // UDP only
	LostPercent   float64 `json:"lost_percent"` // UDP only
}

// parseIperf decodes iperf3 -J output; a report with "error" set is an error.
func parseIperf(out string) (iperfReport, error) {
	var r iperfReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return r, fmt.Errorf("parse iperf3 JSON: %w; output: %s", err, tail(out))
	}
	if r.Error != "" {
		return r, fmt.Errorf("iperf3: %s", r.Error)
	}
	return r, nil
}

// iperf runs one iperf3 test: a one-shot server (`iperf3 -s -1 -J`) bound
// to serverIP:port in serverNS, then the client with extra flags in
// clientNS connecting to the same address; it returns the parsed client report.
func (b *Bed) iperf(ctx context.Context, clientNS, serverNS string, serverIP netip.Addr, port int, duration time.Duration, extra ...string) (iperfReport, error) {
	bind := netip.AddrPortFrom(serverIP, uint16(port))
	return b.iperfVia(ctx, clientNS, serverNS, bind, bind, duration, extra...)
}

// iperfVia is iperf with a server bound to bind while the client connects to via (a
// published port, a NAT address).
func (b *Bed) iperfVia(ctx context.Context, clientNS, serverNS string, bind, via netip.AddrPort, duration time.Duration, extra ...string) (iperfReport, error) {
	serverIP, port := bind.Addr(), int(bind.Port())
	if !serverIP.IsValid() || port < 1 || !via.Addr().IsValid() || via.Port() == 0 {
		return iperfReport{}, fmt.Errorf("iperf3 to %s via %s: invalid address or port", bind, via)
	}
	secs := max(1, int(math.Ceil(duration.Seconds())))
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
		defer cancel()
	}
	p := strconv.Itoa(port)
	srv, err := b.Start(serverNS, "iperf3", "-s", "-1", "-B", serverIP.String(), "-p", p, "-J")
	if err != nil {
		return iperfReport{}, err
	}
	defer srv.Stop()
	if err := b.waitListening(ctx, serverNS, port, srv); err != nil {
		return iperfReport{}, err
	}
	argv := append([]string{"iperf3", "-c", via.Addr().String(), "-p", strconv.Itoa(int(via.Port())), "-t", strconv.Itoa(secs),
		"--connect-timeout", "3000", "-J"}, extra...)
	out, runErr := b.runSplit(ctx, clientNS, argv...)
	r, err := parseIperf(out)
	if err != nil {
		if runErr != nil && !strings.HasPrefix(err.Error(), "iperf3: ") {
			err = runErr
		}
		return r, fmt.Errorf("iperf3 %q -> %s (server %s in %q): %w", clientNS, via, bind, serverNS, err)
	}
	r.ClientSeen = clientSeenBy(srv)
	return r, nil
}

// waitListening polls `ss -Hltn sport = :port` in ns every 50ms until a
// listener shows up; it fails if srv exits first or ctx ends.
func (b *Bed) waitListening(ctx context.Context, ns string, port int, srv *Proc) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := b.Run(ctx, ns, "ss", "-Hltn", "sport", "=", ":"+strconv.Itoa(port))
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for listener on port %d in %q: %w; server log: %s", port, ns, ctx.Err(), tail(srv.Log()))
		case <-srv.Done():
			return fmt.Errorf("server %s exited before listening on port %d: %v; log: %s", srv.desc, port, srv.Wait(), tail(srv.Log()))
		case <-tick.C:
		}
	}
}
