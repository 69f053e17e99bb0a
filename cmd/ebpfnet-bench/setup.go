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

// build creates the three topologies under fresh prefixes sharing one random suffix.
func (b *benchRun) build(bin string, cni bench.CNI) error {
	id, err := freeSuffix()
	if err != nil {
		return err
	}
	pe, pk, pc := "bne"+id, "bnk"+id, "bnc"+id
	b.prefixes = []string{pe, pk, pc}
	steps := []struct {
		what  string
		build func() (*bench.Topology, error)
	}{
		{"ebpfnet (agents, endpoints, peers, published port via the CLI)", func() (*bench.Topology, error) {
			return bench.NewEbpfnet(b.ctx, pe, bin)
		}},
		{"kernel baseline (cnitool: bridge, host-local, portmap; VXLAN 1042; iptables)", func() (*bench.Topology, error) {
			return bench.NewKernel(b.ctx, pk, cni)
		}},
		{"ceiling (hosts over the underlay)", func() (*bench.Topology, error) { return bench.NewCeiling(b.ctx, pc) }},
	}
	for _, s := range steps {
		t0 := time.Now()
		t, err := s.build()
		if err != nil {
			return err
		}
		b.topos = append(b.topos, t)
		fmt.Fprintf(os.Stderr, "built %s: netns %s-* (%.1fs)\n", s.what, t.Bed.Prefix(), time.Since(t0).Seconds())
	}
	return nil
}

// freeSuffix returns 4 hex digits that no namespace, pin dir or cache file of ours carries yet.
func freeSuffix() (string, error) {
	for range 20 {
		id := strings.TrimPrefix(testbed.UniquePrefix("x"), "x")
		if len(leftovers("bne"+id))+len(leftovers("bnk"+id))+len(leftovers("bnc"+id)) == 0 {
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
