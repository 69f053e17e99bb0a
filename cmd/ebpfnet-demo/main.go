// Command ebpfnet-demo shows ebpfnet end to end on one machine: two hosts and four containers
// in network namespaces, real agents started with the ebpfnet CLI, ping and a TCP transfer
// between all 12 ordered container pairs, the agent's status counters and a BTF-formatted
// bpftool dump of a pinned map. Everything it creates (namespaces, veths, processes, pins, temp
// files) is removed on exit, also on failure and on SIGINT/SIGTERM. It needs root.
//
//	sudo make demo                       # builds bin/ebpfnet and runs this
//	sudo go run ./cmd/ebpfnet-demo       # builds ebpfnet into a temp dir first
//	sudo ebpfnet-demo --binary bin/ebpfnet
//
// Exit status: 0 when all pairs pass, 1 on any failure, 130 when interrupted.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

const (
	exitOK          = 0
	exitFail        = 1
	exitInterrupted = 130

	tcpPort     = 5201
	tcpDuration = time.Second
	pingCount   = 3
	pingIvl     = 200 * time.Millisecond
)

// containerSpec is one demo container.
type containerSpec struct {
	name  string
	host  int // index into Cluster.Hosts
	ip    netip.Addr
	label string
}

var containers = []containerSpec{
	{"c1", 0, netip.MustParseAddr("10.42.1.2"), "app=web"},
	{"c2", 0, netip.MustParseAddr("10.42.1.3"), "app=db"},
	{"c3", 1, netip.MustParseAddr("10.42.2.2"), "app=web"},
	{"c4", 1, netip.MustParseAddr("10.42.2.3"), "app=db"},
}

func main() {
	os.Exit(run())
}

// demo carries the state cleanup needs.
type demo struct {
	ctx     context.Context
	start   time.Time
	prefix  string
	binDir  string // temp dir of a binary we built, or ""
	bed     *testbed.Bed
	cluster *testbed.Cluster
	stepN   int
}

// errInterrupted marks a step cut short by SIGINT/SIGTERM.
var errInterrupted = errors.New("interrupted")

func run() (code int) {
	binPath := flag.String("binary", "", "ebpfnet CLI to use, ebpfnet-agent beside it (default: go build both into a temp dir)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [--binary PATH]\n\n", filepath.Base(os.Args[0]))
		fmt.Fprintln(os.Stderr, "Builds a 2-host x 2-container ebpfnet cluster in network namespaces, tests")
		fmt.Fprintln(os.Stderr, "all 12 container pairs with ping and TCP, prints the results and removes")
		fmt.Fprintln(os.Stderr, "everything again. Needs root.")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		return 2
	}

	// Signals cancel ctx; while cleanup runs they stay caught (stop is deferred first, so it
	// runs last), so a second Ctrl-C cannot cut cleanup short.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d := &demo{ctx: ctx, start: time.Now()}
	defer func() {
		if r := recover(); r != nil {
			fmt.Printf("\npanic: %v\n", r)
			code = exitFail
		}
		clean := d.cleanup()
		if !clean && code == exitOK {
			code = exitFail
		}
		switch code {
		case exitOK:
			fmt.Printf("PASS: all %d pairs OK (%s)\n", pairCount(), elapsed(d.start))
		case exitInterrupted:
			if clean {
				fmt.Println("interrupted: everything removed")
			} else {
				fmt.Println("interrupted: cleanup incomplete, see above")
			}
		default:
			fmt.Printf("FAIL (%s)\n", elapsed(d.start))
		}
	}()

	err := d.main(*binPath)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted) || ctx.Err() != nil:
		fmt.Println()
		fmt.Println("caught signal, stopping")
		return exitInterrupted
	default:
		fmt.Printf("\nerror: %v\n", err)
		d.printAgentLogs()
		return exitFail
	}
}

// main does the demo; it returns errInterrupted when a signal arrived and another error when
// setup or any pair failed.
func (d *demo) main(binary string) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (namespaces, BPF): try `sudo make demo`")
	}
	if err := preflight(); err != nil {
		return err
	}
	fmt.Println("ebpfnet demo: 2 hosts x 2 containers in network namespaces")
	fmt.Println()

	// 1. binary
	d.step("ebpfnet binary")
	bin, err := d.binary(binary)
	if err != nil {
		return err
	}
	if err := d.check(); err != nil {
		return err
	}

	// 2. hosts and underlay
	d.prefix, err = freePrefix()
	if err != nil {
		return err
	}
	d.bed, err = testbed.New(d.prefix)
	if err != nil {
		return err
	}
	d.step(fmt.Sprintf("hosts: netns %s-h1, %s-h2, underlay veth ul0 172.31.0.1 <-> 172.31.0.2", d.prefix, d.prefix))
	c, err := testbed.NewCluster(d.bed, bin, 2)
	if c != nil {
		d.cluster = c
	}
	if err != nil {
		return err
	}
	if err := d.check(); err != nil {
		return err
	}

	// 3. agents
	d.step("agents: `ebpfnet agent` on h1 and h2")
	for _, h := range c.Hosts {
		if err := c.StartAgent(h); err != nil {
			return err
		}
		if err := d.check(); err != nil {
			return err
		}
		d.detail("%s: pid %d, pod CIDR %s, pins %s", h.Name, h.Agent.PID(), h.PodCIDR, h.PinDir)
	}

	// 4. peers
	d.step("peers: `ebpfnet peer add` on each host for the other's pod CIDR")
	if err := c.MeshPeers(); err != nil {
		return err
	}
	for _, h := range c.Hosts {
		for _, o := range c.Hosts {
			if o != h {
				d.detail("%s: %s via %s (VXLAN)", h.Name, o.PodCIDR, o.UnderlayIP)
			}
		}
	}
	if err := d.check(); err != nil {
		return err
	}

	// 5. containers
	d.step("containers: `ebpfnet endpoint add` (own netns, veth, tcx program)")
	for _, s := range containers {
		h := c.Hosts[s.host]
		if _, err := c.AddContainer(h, s.name, s.ip, s.label); err != nil {
			return err
		}
		d.detail("%s on %s: %s %s", s.name, h.Name, s.ip, s.label)
		if err := d.check(); err != nil {
			return err
		}
	}
	h1 := c.Hosts[0]
	fmt.Println()
	if err := d.showCLI(h1, "endpoint", "list"); err != nil {
		return err
	}
	if err := d.showCLI(h1, "peer", "list"); err != nil {
		return err
	}

	// 6. traffic
	d.step(fmt.Sprintf("traffic: %d pairs, each ping %dx%s + %s TCP (iperf3), one pair at a time", pairCount(), pingCount, pingIvl, tcpDuration))
	fmt.Print("      ")
	t0 := time.Now()
	results := d.traffic()
	fmt.Printf(" %d/%d OK (%s)\n", len(results)-failed(results), len(results), elapsed(t0))
	if err := d.check(); err != nil {
		return err
	}

	// 7. what the datapath saw
	fmt.Println()
	if err := d.showCLI(h1, "status"); err != nil {
		return err
	}
	d.showMapDump(filepath.Join(h1.PinDir, "endpoints"), h1)

	// 8. results
	printResults(results)
	if n := failed(results); n > 0 {
		return fmt.Errorf("%d of %d pairs failed", n, len(results))
	}
	return nil
}

// step prints a numbered step header.
func (d *demo) step(what string) {
	d.stepN++
	fmt.Printf("[%d] %s\n", d.stepN, what)
}

// detail prints an indented line under a step.
func (d *demo) detail(format string, args ...any) {
	fmt.Printf("      "+format+"\n", args...)
}

// check returns errInterrupted once a signal arrived.
func (d *demo) check() error {
	if d.ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// binary returns the absolute path of the ebpfnet CLI (with ebpfnet-agent beside it): the given
// one, or both built now.
func (d *demo) binary(given string) (string, error) {
	if given != "" {
		abs, err := testbed.CheckCLI(given)
		if err != nil {
			return "", fmt.Errorf("--binary: %w", err)
		}
		d.detail("using %s", abs)
		return abs, nil
	}
	dir, err := os.MkdirTemp("", "ebpfnet-demo-bin-")
	if err != nil {
		return "", err
	}
	d.binDir = dir
	t0 := time.Now()
	out, err := testbed.BuildCLI(d.ctx, dir)
	if err != nil {
		if d.ctx.Err() != nil {
			return "", errInterrupted
		}
		return "", fmt.Errorf("%w (or pass --binary)", err)
	}
	d.detail("go build ./cmd/ebpfnet ./cmd/ebpfnet-agent -> %s (%.1fs)", dir, time.Since(t0).Seconds())
	return out, nil
}

// showCLI prints `ebpfnet args...` run against h's agent, indented.
func (d *demo) showCLI(h *testbed.Host, args ...string) error {
	out, err := d.cluster.CLI(h, args...)
	if err != nil {
		if d.ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	fmt.Printf("  $ ebpfnet %s        # on %s\n", strings.Join(args, " "), h.Name)
	printIndented(out, "    ")
	fmt.Println()
	return nil
}

// showMapDump prints bpftool's BTF-formatted dump of a pinned map. A missing bpftool or a
// failing dump is reported but is not a demo failure.
func (d *demo) showMapDump(pin string, h *testbed.Host) {
	fmt.Printf("  $ bpftool map dump pinned %s\n", pin)
	if _, err := exec.LookPath("bpftool"); err != nil {
		fmt.Println("    (bpftool not installed; `make deps` installs it)")
		fmt.Println()
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bpftool", "map", "dump", "pinned", pin).CombinedOutput()
	printIndented(string(out), "    ")
	if err != nil {
		fmt.Printf("    (bpftool failed: %v)\n", err)
	} else {
		// Field names come from the map's BTF; IPv4 fields hold network-order bytes, which
		// bpftool prints as one little-endian integer.
		var keys []string
		for _, c := range d.cluster.Containers {
			if c.Host == h {
				keys = append(keys, fmt.Sprintf("%d = %s", ipAsLE(c.IP), c.IP))
			}
		}
		fmt.Printf("    (field names from BTF; \"ip\" is network byte order read as a little-endian integer: %s)\n",
			strings.Join(keys, ", "))
	}
	fmt.Println()
}

// ipAsLE returns the IPv4 address's network-order bytes read as a little-endian uint32, which
// is how bpftool prints a __be32 field.
func ipAsLE(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.LittleEndian.Uint32(b[:])
}

// printAgentLogs prints the tail of each running agent's log (for failures).
func (d *demo) printAgentLogs() {
	if d.cluster == nil {
		return
	}
	for _, h := range d.cluster.Hosts {
		if h.Agent == nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(h.Agent.Log()), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Printf("\nagent %s log (last %d lines):\n", h.Name, len(lines))
		printIndented(strings.Join(lines, "\n"), "    ")
	}
}

// cleanup removes everything the demo made: agents and pins (Cluster.Close), namespaces,
// processes and temp dir (Bed.Close), the built binary, and, as a last resort, any namespace
// or pin dir still carrying this run's prefix. It reports whether all went well.
func (d *demo) cleanup() bool {
	if d.bed == nil && d.binDir == "" {
		return true
	}
	fmt.Print("\ncleanup: ")
	ok := true
	var done []string
	if d.cluster != nil {
		if err := d.cluster.Close(); err != nil {
			fmt.Printf("\n  stop agents / remove pins: %v\n", err)
			ok = false
		} else {
			done = append(done, "agents stopped", "pins removed")
		}
	}
	if d.bed != nil {
		if err := d.bed.Close(); err != nil {
			fmt.Printf("\n  remove namespaces: %v\n", err)
			ok = false
		} else {
			done = append(done, "namespaces "+d.prefix+"-* deleted")
		}
	}
	if d.binDir != "" {
		if err := os.RemoveAll(d.binDir); err != nil {
			fmt.Printf("\n  remove %s: %v\n", d.binDir, err)
			ok = false
		} else {
			done = append(done, "built binary removed")
		}
	}
	if d.prefix != "" {
		left := testbed.Leftovers(d.prefix)
		for _, l := range left {
			if err := testbed.RemoveLeftover(l); err != nil {
				fmt.Printf("\n  leftover %s: %v", l, err)
				ok = false
			} else {
				done = append(done, "leftover "+l+" removed")
			}
		}
		if len(testbed.Leftovers(d.prefix)) > 0 {
			ok = false
		}
	}
	if ok {
		fmt.Println(strings.Join(done, ", "))
	} else {
		fmt.Println("cleanup incomplete, see above")
	}
	return ok
}

// printIndented prints s with every line indented by ind.
func printIndented(s, ind string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for _, l := range strings.Split(s, "\n") {
		fmt.Println(ind + l)
	}
}

// preflight checks for the commands the testbed and the demo run.
func preflight() error {
	var missing []string
	for _, c := range []string{"ip", "nsenter", "ping", "iperf3", "ss"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing commands: %s (run `make deps`)", strings.Join(missing, ", "))
	}
	return nil
}
