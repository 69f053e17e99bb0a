package agent

import (
	"context"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
	"github.com/ebpfnet/ebpfnet/policy"
)

// Idle timeouts of conntrack/NAT entries, as Cilium's defaults (bpf/lib/conntrack.h):
// established TCP 6 h, other protocols 60 s; ICMP echo 30 s.
var ctTimeout = map[uint8]time.Duration{
	policy.ProtoTCP:  6 * time.Hour,
	policy.ProtoUDP:  60 * time.Second,
	policy.ProtoICMP: 30 * time.Second,
}

// monotonicNow is the kernel's bpf_ktime_get_ns clock (CLOCK_MONOTONIC).
func monotonicNow() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// gcConntrack deletes idle entries and returns how many, and the entries left. A masquerade
// pair (snat-out and its snat-in) goes only when both directions are idle, so a one-way flow
// keeps its reply path.
func (a *Agent) gcConntrack() (int, []maps.CTEntry, error) {
	entries, err := a.maps.CT.All()
	if err != nil {
		return 0, nil, err
	}
	live := entries[:0:0]
	now := monotonicNow()
	type tuple struct {
		src, dst         [4]byte
		srcPort, dstPort uint16
		proto            uint8
	}
	lastIn := map[tuple]time.Duration{}
	for _, e := range entries {
		if e.Dir == maps.CTSNATIn {
			lastIn[tuple{e.Src.As4(), e.Dst.As4(), e.SrcPort, e.DstPort, e.Proto}] = e.LastSeen
		}
	}
	deleted := 0
	for _, e := range entries {
		last := e.LastSeen
		if e.Dir == maps.CTSNATOut {
			last = max(last, lastIn[tuple{e.Dst.As4(), e.Addr.As4(), e.DstPort, e.Port, e.Proto}])
		}
		if now-last < ctTimeout[e.Proto] {
			live = append(live, e)
			continue
		}
		if err := a.maps.CT.Delete(e); err != nil {
			return deleted, nil, err
		}
		deleted++
	}
	return deleted, live, nil
}

// every runs fn every interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func(ctx context.Context, now time.Time)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(ctx, now)
		}
	}
}

// conntrackGC expires idle conntrack entries and recounts the endpoints' quotas.
func (a *Agent) conntrackGC(context.Context, time.Time) {
	n, live, err := a.gcConntrack()
	if err == nil {
		err = a.recountCTQuotas(live)
	}
	if err != nil {
		a.log.Warn("conntrack GC", "err", err)
	} else if n > 0 {
		a.log.Debug("conntrack GC", "expired", n)
	}
}

// NATEntries lists the live conntrack/NAT entries.
func (a *Agent) NATEntries() ([]api.NATEntry, error) {
	entries, err := a.maps.CT.All()
	if err != nil {
		return nil, err
	}
	now := monotonicNow()
	out := make([]api.NATEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, api.NATEntry{
			Kind: e.Dir.String(), Proto: api.ProtoName(e.Proto),
			Src: e.Src, SrcPort: e.SrcPort, Dst: e.Dst, DstPort: e.DstPort,
			To: e.Addr, ToPort: e.Port, IdleSecs: (now - e.LastSeen).Seconds(),
		})
	}
	return out, nil
}
