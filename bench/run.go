package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Ports the measuring tools listen on inside the server namespaces.
const (
	iperfPort    = 5201
	sockperfPort = 11111
)

// phase is one traffic measure run on every topology it applies to.
type phase struct {
	name      string
	measures  []string // IDs it records (failures are recorded on all of them)
	encrypted bool     // runs on the encrypted topologies instead of the others
	pair      func(t *Topology) *Pair
	run       func(ctx context.Context, t *Topology, p Pair) (map[string]float64, error)
	// setup, when set, prepares t before each run and returns what undoes it after the run.
	setup func(t *Topology) (undo func() error, err error)
}

// phases are the traffic measures in the order Run runs them.
func (c Config) phases() []phase {
	same := func(t *Topology) *Pair { return t.Same }
	cross := func(t *Topology) *Pair { return &t.Cross }
	tcp := func(tput, cpu string) func(context.Context, *Topology, Pair) (map[string]float64, error) {
		return func(ctx context.Context, t *Topology, p Pair) (map[string]float64, error) {
			before, err := procCPU(t.Helpers)
			if err != nil {
				return nil, err
			}
			r, err := iperf(ctx, t.Bed, p, iperfPort, c.TCPDuration, false)
			if err == nil && len(t.Helpers) > 0 && r.Gbps > 0 {
				after, cpuErr := procCPU(t.Helpers)
				if cpuErr != nil {
					return nil, cpuErr
				}
				r.CPUPerGbps += 100 * (after - before).Seconds() / c.TCPDuration.Seconds() / r.Gbps
			}
			out := map[string]float64{tput: r.Gbps}
			if cpu != "" && r.CPUPerGbps > 0 {
				out[cpu] = r.CPUPerGbps
			}
			return out, err
		}
	}
	rr := func(rate, p50, p99 string) func(context.Context, *Topology, Pair) (map[string]float64, error) {
		return func(ctx context.Context, t *Topology, p Pair) (map[string]float64, error) {
			r, err := sockperfRR(ctx, t.Bed, p, sockperfPort, c.RRDuration)
			return map[string]float64{rate: r.PerSec, p50: r.P50, p99: r.P99}, err
		}
	}
	udp := func(id string) func(context.Context, *Topology, Pair) (map[string]float64, error) {
		return func(ctx context.Context, t *Topology, p Pair) (map[string]float64, error) {
			r, err := iperf(ctx, t.Bed, p, iperfPort, c.UDPDuration, true)
			return map[string]float64{id: r.RxPPS / 1000}, err
		}
	}
	bigTCP := func(t *Topology) (func() error, error) { return bigTCPEverywhere(t.Bed) }
	return []phase{
		{"TCP same host", []string{MTCPSame, MCPUSame}, false, same, tcp(MTCPSame, MCPUSame), nil},
		{"TCP cross host", []string{MTCPCross, MCPUCross}, false, cross, tcp(MTCPCross, MCPUCross), nil},
		{"TCP same host, BIG TCP everywhere", []string{MTCPSameBig}, false, same, tcp(MTCPSameBig, ""), bigTCP},
		{"TCP cross host, BIG TCP everywhere", []string{MTCPCrossBig}, false, cross, tcp(MTCPCrossBig, ""), bigTCP},
		{"TCP RR same host", []string{MRRSame, MRRSameP50, MRRSameP99}, false, same, rr(MRRSame, MRRSameP50, MRRSameP99), nil},
		{"TCP RR cross host", []string{MRRCross, MRRCrossP50, MRRCrossP99}, false, cross, rr(MRRCross, MRRCrossP50, MRRCrossP99), nil},
		{"UDP 64 B same host", []string{MUDPSame}, false, same, udp(MUDPSame), nil},
		{"UDP 64 B cross host", []string{MUDPCross}, false, cross, udp(MUDPCross), nil},
		{phaseEncrypted, []string{MTCPCrossEnc, MCPUCrossEnc}, true, cross, tcp(MTCPCrossEnc, MCPUCrossEnc), nil},
	}
}

// Run measures every topology with cfg and returns what it got: topos in every phase but the
// encrypted one, which measures enc (ebpfnet with encryption and the plain WireGuard tunnel;
// none: not measured), and the routing-mesh one, which measures mesh (ebpfnet on etcd) and
// the topos that have services (the kernel baseline). Runs of each measure interleave the topologies (their order rotates
// from run to run). A failed measurement is recorded and the others go on; a cancelled ctx
// stops Run early with ctx's error.
func Run(ctx context.Context, topos, enc, mesh []*Topology, cfg Config) (*Results, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := NewResults(Measures(cfg.PortCounts))
	for _, t := range append(slices.Clone(topos), enc...) {
		if err := warmUp(ctx, t); err != nil {
			return res, err
		}
	}
	for _, ph := range cfg.phases() {
		if !cfg.selected(ph.name) {
			continue
		}
		set := topos
		if ph.encrypted {
			set = enc
		}
		for run := 0; run < cfg.Runs; run++ {
			for _, t := range rotate(set, run) {
				p := ph.pair(t)
				if p == nil {
					continue
				}
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				vals, err := ph.runOnce(ctx, t, *p)
				if err != nil {
					for _, m := range ph.measures {
						res.Fail(m, t.Name, err)
					}
					logf(cfg.Log, "  %-20s run %d/%d %-8s FAILED: %v", ph.name, run+1, cfg.Runs, t.Name, err)
					continue
				}
				for _, m := range ph.measures {
					if v, ok := vals[m]; ok {
						res.Add(m, t.Name, v)
					}
				}
				logf(cfg.Log, "  %-20s run %d/%d %-8s %s", ph.name, run+1, cfg.Runs, t.Name, describe(ph.measures, vals))
			}
		}
	}
	noteEncryptionCost(res)
	if cfg.selected(phaseFlood) {
		if err := floods(ctx, topos, cfg, res); err != nil {
			return res, err
		}
	}
	if cfg.selected(phaseConn) {
		if err := publishedPorts(ctx, topos, cfg, res); err != nil {
			return res, err
		}
	}
	if cfg.selected(phaseAdd) {
		if err := addPort(ctx, topos, cfg, res); err != nil {
			return res, err
		}
	}
	if cfg.selected(phaseNetworks) {
		if err := networks(ctx, topos, cfg, res); err != nil {
			return res, err
		}
	}
	if cfg.selected(phaseMesh) {
		for _, t := range topos {
			if t.Services != nil {
				mesh = append(slices.Clone(mesh), t)
			}
		}
		return res, meshConns(ctx, mesh, cfg, res)
	}
	return res, nil
}

// runOnce runs ph once on t, inside ph.setup and its undo when ph has one.
func (ph phase) runOnce(ctx context.Context, t *Topology, p Pair) (map[string]float64, error) {
	if ph.setup == nil {
		return ph.run(ctx, t, p)
	}
	undo, err := ph.setup(t)
	if err != nil {
		return nil, errors.Join(err, undo())
	}
	vals, err := ph.run(ctx, t, p)
	return vals, errors.Join(err, undo())
}

// warmUp pings every server of t once (ARP and neighbour entries, first-packet paths), so
// the first timed run does not pay for them; a failure means the topology is broken.
func warmUp(ctx context.Context, t *Topology) error {
	for _, p := range []*Pair{t.Same, &t.Cross} {
		if p == nil {
			continue
		}
		st, err := t.Bed.Ping(ctx, p.Client, p.ServerIP, 2, 100*time.Millisecond)
		if err != nil {
			return fmt.Errorf("%s: warm-up: %w", t.Name, err)
		}
		if st.Received == 0 {
			return fmt.Errorf("%s: warm-up: %s cannot reach %s (%s)", t.Name, p.Client, p.ServerIP, p.Server)
		}
	}
	return nil
}

// publishedPorts grows every topology's published ports through cfg.PortCounts and measures
// new connections per second through the web port at each count.
func publishedPorts(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	for ci, n := range cfg.PortCounts {
		for _, t := range topos {
			if t.Ports == nil {
				continue
			}
			d, err := t.Ports.GrowTo(ctx, n)
			if err != nil {
				return fmt.Errorf("%s: publish %d ports: %w", t.Name, n, err)
			}
			if ci > 0 {
				logf(cfg.Log, "  %-20s %-8s %s ports installed in %.1f ms", "publish", t.Name, groupDigits(n), ms(d))
			}
			if ci == len(cfg.PortCounts)-1 && ci > 0 {
				res.Add(MInstallPorts, t.Name, ms(d))
			}
		}
		id := ConnMeasureID(n)
		for run := 0; run < cfg.Runs; run++ {
			for _, t := range rotate(topos, run) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := wrkNewConns(ctx, t.Bed, t.Web, cfg.ConnDuration)
				if err != nil {
					res.Fail(id, t.Name, err)
					logf(cfg.Log, "  %-20s run %d/%d %-8s FAILED: %v", "conn/s "+groupDigits(n)+" ports", run+1, cfg.Runs, t.Name, err)
					continue
				}
				res.Add(id, t.Name, r.PerSec)
				if r.SocketErrors > 0 || r.Non2xx > 0 {
					res.Note("%s, %s ports, run %d: wrk saw %d socket errors and %d non-2xx answers of %d requests",
						t.Name, groupDigits(n), run+1, r.SocketErrors, r.Non2xx, r.Requests)
				}
				logf(cfg.Log, "  %-20s run %d/%d %-8s %.0f conn/s (%d socket errors)", "conn/s "+groupDigits(n)+" ports",
					run+1, cfg.Runs, t.Name, r.PerSec, r.SocketErrors)
			}
		}
	}
	return nil
}

// addPort times adding one more published port on top of the last port count (installed
// first if the connection phase did not run).
func addPort(ctx context.Context, topos []*Topology, cfg Config, res *Results) error {
	top := cfg.PortCounts[len(cfg.PortCounts)-1]
	for _, t := range topos {
		if t.Ports == nil {
			continue
		}
		if _, err := t.Ports.GrowTo(ctx, top); err != nil {
			return fmt.Errorf("%s: publish %d ports: %w", t.Name, top, err)
		}
	}
	for i := 0; i < cfg.AddRepeats; i++ {
		for _, t := range rotate(topos, i) {
			if t.Ports == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ds, err := t.Ports.AddOne(ctx, i)
			if err != nil {
				res.Fail(MAddPort, t.Name, err)
				res.Fail(MAddPortIPT, t.Name, err)
				logf(cfg.Log, "  %-20s #%d %-8s FAILED: %v", "add 1 port", i+1, t.Name, err)
				continue
			}
			if d, ok := ds[AddCLI]; ok { // ours is compared with both kernel ways
				res.Add(MAddPort, t.Name, ms(d))
				res.Add(MAddPortIPT, t.Name, ms(d))
			}
			if d, ok := ds[AddAPI]; ok {
				res.Add(MAddPortAPI, t.Name, ms(d))
			}
			if d, ok := ds[AddPortmap]; ok {
				res.Add(MAddPort, t.Name, ms(d))
			}
			if d, ok := ds[AddIptables]; ok {
				res.Add(MAddPortIPT, t.Name, ms(d))
			}
			logf(cfg.Log, "  %-20s #%d %-8s %v", "add 1 port", i+1, t.Name, ds)
		}
	}
	return nil
}

// rotate returns topos rotated left by k, so each run starts with another topology.
func rotate(topos []*Topology, k int) []*Topology {
	if len(topos) == 0 {
		return nil
	}
	k %= len(topos)
	return append(slices.Clone(topos[k:]), topos[:k]...)
}

// ms converts d to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// describe formats the values of a phase for the progress log.
func describe(ids []string, vals map[string]float64) string {
	s := ""
	for _, id := range ids {
		if v, ok := vals[id]; ok {
			s += fmt.Sprintf("%s=%s ", id, formatValue(v))
		}
	}
	return s
}

// noteEncryptionCost notes ebpfnet's encrypted cross-host TCP as a share of its clear one (the
// "ebpfnet in clear" of the encrypted row), when both were measured.
func noteEncryptionCost(res *Results) {
	enc, clear := res.Get(MTCPCrossEnc, TopoEbpfnet), res.Get(MTCPCross, TopoEbpfnet)
	if enc.OK() && clear.OK() && clear.Median > 0 {
		res.Note("ebpfnet cross-host TCP encrypted / in clear: %.3fx (%s vs %s Gbit/s)",
			enc.Median/clear.Median, formatValue(enc.Median), formatValue(clear.Median))
	}
}
