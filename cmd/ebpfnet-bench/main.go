// Command ebpfnet-bench measures ebpfnet against a kernel baseline (Linux bridge, kernel
// VXLAN, iptables NAT, assembled with the CNI bridge/host-local/portmap plugins and cnitool)
// and a ceiling (the hosts talking directly over the underlay; same host, one veth pair) on
// identical 2-host x 2-container network-namespace topologies: TCP throughput (also with BIG
// TCP on every device) and CPU per Gbit/s (iperf3), TCP
// request/response (sockperf), UDP 64-byte packet rate (iperf3), new connections per second
// through a published port with 1, 1,000 and 10,000 ports published (nginx, wrk), the
// time to publish one more port, and cross-host TCP encrypted (ebpfnet with --encryption
// wireguard against a plain tunnel of the same WireGuard helper, two more topologies). It prints a table with medians, spreads and ratios and the
// issue's targets, and writes bench.json and bench.png to --out. Needs root.
//
//	sudo make bench          # 7 interleaved runs, about 20 minutes
//	sudo make bench-smoke    # every measure once for 1 s, under 3 minutes
//
// Everything it creates (namespaces, processes, pins, temp files, libcni cache files) is
// removed on exit, also on failure and on SIGINT/SIGTERM. Exit status: 0 when every
// measurement produced a figure (timings never fail a run), 1 when the harness or a
// topology broke, 2 on bad usage, 130 when interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ebpfnet/ebpfnet/bench"
)

const (
	exitOK          = 0
	exitFail        = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// options are the command-line flags.
type options struct {
	smoke   bool
	binary  string
	cnitool string
	cniPath string
	out     string
	runs    int
	only    string
	hold    bool
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.BoolVar(&o.smoke, "smoke", false, "run every measure once, briefly (1 s), to check the harness")
	flag.StringVar(&o.binary, "binary", "", "ebpfnet CLI, ebpfnet-agent beside it (default: go build both into a temp dir)")
	flag.StringVar(&o.cnitool, "cnitool", "", "cnitool binary (default: bin/cnitool, else cnitool in PATH)")
	flag.StringVar(&o.cniPath, "cni-path", bench.DefaultCNIPluginDir, "directory of the CNI plugins (Debian's containernetworking-plugins)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for bench.json and bench.png")
	flag.IntVar(&o.runs, "runs", 0, "runs per measure (default: 7, smoke: 1)")
	flag.StringVar(&o.only, "only", "", "run only the phases whose name matches this regexp (see --list)")
	flag.BoolVar(&o.hold, "hold", false, "build the topologies with the most published ports, print their namespaces and wait for Ctrl-C (for profiling by hand)")
	list := flag.Bool("list", false, "list the phase names and exit")
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		return exitUsage
	}
	cfg := bench.FullConfig()
	if o.smoke {
		cfg = bench.SmokeConfig()
	}
	if o.runs > 0 {
		cfg.Runs = o.runs
	}
	cfg.Log = os.Stderr
	cfg.Only = o.only
	if *list {
		for _, n := range cfg.PhaseNames() {
			fmt.Println(n)
		}
		return exitOK
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}

	// Signals cancel ctx; stop is deferred first so signals stay caught while cleanup runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b := &benchRun{ctx: ctx, opts: o, cfg: cfg, start: time.Now()}
	code := b.main()
	if err := b.cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == exitOK {
			code = exitFail
		}
	}
	if ctx.Err() != nil && !o.hold {
		code = exitInterrupted
	}
	fmt.Printf("\nebpfnet-bench (%s) finished in %s, exit %d\n", cfg.Mode, time.Since(b.start).Round(time.Second), code)
	return code
}

// benchRun carries what cleanup needs.
type benchRun struct {
	ctx      context.Context
	opts     options
	cfg      bench.Config
	start    time.Time
	binDir   string // temp dir of a binary we built
	prefixes []string
	topos    []*bench.Topology
	enc      []*bench.Topology // encrypted phase: ebpfnet with WireGuard, plain WireGuard tunnel
	mesh     []*bench.Topology // routing-mesh phase: ebpfnet on etcd
}

func (b *benchRun) main() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench: must run as root (namespaces, BPF, iptables in namespaces): try `sudo make bench`")
		return exitFail
	}
	cni, err := b.preflight()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	}
	bin, err := b.ebpfnetBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	}
	facts := bench.CollectFacts(b.ctx, cni.Cnitool, bin)
	fmt.Fprintf(os.Stderr, "ebpfnet-bench %s: kernel %s, %d CPUs, load %s\n", b.cfg.Mode, facts.Kernel, facts.CPUs, facts.LoadAvgStart)
	if err := b.build(bin, cni); err != nil {
		if b.ctx.Err() != nil {
			return exitInterrupted
		}
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	}
	if b.opts.hold {
		top := b.cfg.PortCounts[len(b.cfg.PortCounts)-1]
		for _, t := range b.topos {
			if t.Ports == nil {
				continue
			}
			if _, err := t.Ports.GrowTo(b.ctx, top); err != nil {
				fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
				return exitFail
			}
		}
		fmt.Printf("%d ports published on h1 of ebpfnet and kernel: %d:%d/tcp to c2 (nginx), %d-%d to c1\n", top,
			bench.WebHostPort, bench.WebContainerPort, bench.FillerBasePort, bench.FillerBasePort+top-2)
		for _, t := range b.topos {
			fmt.Printf("%-8s namespaces %s-{h1,h2,sw,out,...}; same host %+v; cross host %+v; web %+v\n",
				t.Name, t.Bed.Prefix(), t.Same, t.Cross, t.Web)
		}
		fmt.Println("holding; Ctrl-C (or SIGTERM) removes everything")
		<-b.ctx.Done()
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "measuring (%d run(s) per measure, topologies interleaved)\n", b.cfg.Runs)
	res, runErr := bench.Run(b.ctx, b.topos, b.enc, b.mesh, b.cfg)
	facts.LoadAvgEnd = bench.LoadAvg()
	if res == nil {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", runErr)
		return exitFail
	}
	top := b.cfg.PortCounts[len(b.cfg.PortCounts)-1]
	targets := bench.Targets(res, top)
	fmt.Println()
	bench.WriteFacts(os.Stdout, facts)
	bench.WriteTable(os.Stdout, res, b.cfg.Runs)
	bench.WriteTargets(os.Stdout, targets)
	bench.WriteMethodology(os.Stdout, bench.Methodology(b.cfg))
	if runErr != nil {
		if b.ctx.Err() != nil {
			fmt.Println("\ninterrupted: results above are partial and were not written")
			return exitInterrupted
		}
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", runErr)
		return exitFail
	}
	rep := bench.Report{Started: b.start, Seconds: time.Since(b.start).Seconds(), Facts: facts, Config: b.cfg, Method: bench.Methodology(b.cfg),
		Results: res, Targets: targets, Complete: b.cfg.Only == ""}
	jsonPath, pngPath := filepath.Join(b.opts.out, "bench.json"), filepath.Join(b.opts.out, "bench.png")
	if err := bench.WriteJSON(jsonPath, rep); err != nil {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	}
	if err := writeHistory(filepath.Join(b.opts.out, bench.HistoryDir), rep); err != nil {
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	}
	title := fmt.Sprintf("ebpfnet vs kernel (bridge+VXLAN+iptables) vs ceiling: %s, %d CPUs, %s mode, %d run(s)",
		facts.Kernel, facts.CPUs, b.cfg.Mode, b.cfg.Runs)
	switch err := bench.WriteChart(pngPath, title, res); {
	case errors.Is(err, bench.ErrNothingToChart):
		fmt.Printf("\nwrote %s (%v: no %s)\n", jsonPath, err, pngPath)
	case err != nil:
		fmt.Fprintln(os.Stderr, "ebpfnet-bench:", err)
		return exitFail
	default:
		fmt.Printf("\nwrote %s and %s\n", jsonPath, pngPath)
	}
	if n := res.Failures(); n > 0 {
		fmt.Printf("%d measurement(s) failed (see above)\n", n)
		return exitFail
	}
	return exitOK
}

// writeHistory adds rep to the history in dir and prints how its medians moved against the
// previous complete run of the same mode there.
func writeHistory(dir string, rep bench.Report) error {
	path, err := bench.WriteHistory(dir, rep)
	if err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", path)
	if prev, prevPath, ok := bench.PreviousRun(dir, rep.Config.Mode, path); ok {
		bench.WriteComparison(os.Stdout, prevPath, bench.Compare(prev.Results, rep.Results))
	}
	return nil
}

// cleanup closes the topologies, sweeps anything left with our prefixes and removes a binary
// we built.
func (b *benchRun) cleanup() error {
	var errs []error
	all := append(append(slices.Clone(b.topos), b.enc...), b.mesh...)
	for i := len(all) - 1; i >= 0; i-- {
		if err := all[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s (%s): %w", all[i].Name, all[i].Bed.Prefix(), err))
		}
	}
	if err := sweep(b.prefixes); err != nil {
		errs = append(errs, err)
	}
	if b.binDir != "" {
		errs = append(errs, os.RemoveAll(b.binDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleanup incomplete: %w", err)
	}
	fmt.Fprintf(os.Stderr, "cleanup: namespaces, processes, pins and temp files removed\n")
	return nil
}
