package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ebpfnet/ebpfnet/bench"
	"github.com/ebpfnet/ebpfnet/testbed"
)

// Prefix heads of the topologies: ebpfnet, kernel, ceiling, the encrypted phase's ebpfnet
// with WireGuard and plain WireGuard tunnel, and the routing-mesh phase's ebpfnet on etcd.
var prefixHeads = []string{"bne", "bnk", "bnc", "bnx", "bnw", "bns"}

// build creates the three topologies, and the encrypted phase's two when it runs, under fresh
// prefixes sharing one random suffix.
func (b *benchRun) build(bin string, cni bench.CNI) error {
	id, err := freeSuffix()
	if err != nil {
		return err
	}
	for _, h := range prefixHeads {
		b.prefixes = append(b.prefixes, h+id)
	}
	pe, pk, pc, px, pw, ps := b.prefixes[0], b.prefixes[1], b.prefixes[2], b.prefixes[3], b.prefixes[4], b.prefixes[5]
	type step struct {
		what  string
		build func() (*bench.Topology, error)
		enc   bool
		mesh  bool
	}
	steps := []step{
		{"ebpfnet (agents, endpoints, peers, published port via the CLI)", func() (*bench.Topology, error) {
			return bench.NewEbpfnet(b.ctx, pe, bin)
		}, false, false},
		{"kernel baseline (cnitool: bridge, host-local, portmap; VXLAN 1042; iptables)", func() (*bench.Topology, error) {
			return bench.NewKernel(b.ctx, pk, cni)
		}, false, false},
		{"ceiling (hosts over the underlay)", func() (*bench.Topology, error) { return bench.NewCeiling(b.ctx, pc) }, false, false},
	}
	if b.cfg.Encrypted() {
		steps = append(steps,
			step{"ebpfnet with --encryption wireguard (agents, endpoints, peers with keys)", func() (*bench.Topology, error) {
				return bench.NewEbpfnetEncrypted(px, bin)
			}, true, false},
			step{"plain WireGuard tunnel (ebpfnet-wireguard between the hosts)", func() (*bench.Topology, error) {
				return bench.NewWireGuardTunnel(b.ctx, pw, bin)
			}, true, false})
	}
	if b.cfg.Mesh() {
		steps = append(steps, step{"ebpfnet services on etcd (2 backends on h2, mesh port on h1)", func() (*bench.Topology, error) {
			return bench.NewEbpfnetServices(b.ctx, ps, bin)
		}, false, true})
	}
	for _, s := range steps {
		t0 := time.Now()
		t, err := s.build()
		if err != nil {
			return err
		}
		switch {
		case s.enc:
			b.enc = append(b.enc, t)
		case s.mesh:
			b.mesh = append(b.mesh, t)
		default:
			b.topos = append(b.topos, t)
		}
		fmt.Fprintf(os.Stderr, "built %s: netns %s-* (%.1fs)\n", s.what, t.Bed.Prefix(), time.Since(t0).Seconds())
	}
	return nil
}

// freeSuffix returns 4 hex digits that no namespace, pin dir or cache file of ours carries yet.
func freeSuffix() (string, error) {
	for range 20 {
		id := strings.TrimPrefix(testbed.UniquePrefix("x"), "x")
		n := 0
		for _, h := range prefixHeads {
			n += len(leftovers(h + id))
		}
		if n == 0 {
			return id, nil
		}
	}
	return "", errors.New("no free namespace prefix found")
}

// preflight checks the commands and CNI plugins the benchmark runs and finds cnitool.
func (b *benchRun) preflight() (bench.CNI, error) {
	var missing []string
	for _, c := range []string{"ip", "bridge", "nsenter", "ss", "sysctl", "ping", "iperf3", "sockperf", "wrk", "nginx",
		"iptables", "iptables-restore"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if _, err := os.Stat(filepath.Join(b.opts.cniPath, p)); err != nil {
			missing = append(missing, "CNI plugin "+filepath.Join(b.opts.cniPath, p))
		}
	}
	cnitool := b.opts.cnitool
	if cnitool == "" {
		cnitool = "bin/cnitool"
		if _, err := os.Stat(cnitool); err != nil {
			cnitool = "cnitool"
		}
	}
	path, err := exec.LookPath(cnitool)
	if err != nil {
		missing = append(missing, "cnitool (GOBIN=$PWD/bin go install github.com/containernetworking/cni/cnitool@v1.3.1)")
	} else if path, err = filepath.Abs(path); err != nil {
		return bench.CNI{}, err
	}
	if len(missing) > 0 {
		return bench.CNI{}, fmt.Errorf("missing: %s (run `make deps`)", strings.Join(missing, ", "))
	}
	return bench.CNI{Cnitool: path, PluginDir: b.opts.cniPath}, nil
}

// ebpfnetBinary returns the absolute path of the ebpfnet CLI (with ebpfnet-agent beside it):
// the given one or both built now into a temp dir.
func (b *benchRun) ebpfnetBinary() (string, error) {
	if b.opts.binary != "" {
		abs, err := testbed.CheckCLI(b.opts.binary)
		if err != nil {
			return "", fmt.Errorf("--binary: %w", err)
		}
		return abs, nil
	}
	dir, err := os.MkdirTemp("", "ebpfnet-bench-bin-")
	if err != nil {
		return "", err
	}
	b.binDir = dir
	out, err := testbed.BuildCLI(b.ctx, dir)
	if err != nil {
		return "", fmt.Errorf("%w (or pass --binary)", err)
	}
	return out, nil
}
