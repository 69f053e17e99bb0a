package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// freePrefix returns a random bed prefix ("demo" + 4 hex digits) that no existing namespace or
// pin dir uses, so that anything carrying it later was made by this run and the leftover sweep
// in cleanup can never touch someone else's namespaces.
func freePrefix() (string, error) {
	for range 20 {
		p := testbed.UniquePrefix("demo")
		if len(leftovers(p)) == 0 {
			return p, nil
		}
	}
	return "", errors.New("no free namespace prefix found")
}

// leftovers lists the named namespaces (/run/netns/<prefix>-*) and pin dirs
// (/sys/fs/bpf/<prefix>-*) that carry prefix.
func leftovers(prefix string) []string {
	var out []string
	for _, dir := range []string{testbed.NetnsDir, testbed.BPFFSRoot} {
		m, _ := filepath.Glob(filepath.Join(dir, prefix+"-*"))
		out = append(out, m...)
	}
	return out
}

// removeLeftover deletes a namespace (with `ip netns del`) or a pin dir.
func removeLeftover(path string) error {
	if filepath.Dir(path) == testbed.NetnsDir {
		name := filepath.Base(path)
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns del %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return os.RemoveAll(path)
}
