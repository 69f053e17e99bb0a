package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Leftovers lists what a run with bed prefix prefix may have left when it was killed: named
// namespaces (NetnsDir/<prefix>-*), pin dirs (BPFFSRoot/<prefix>-*) and whatever the extra
// glob patterns match. Programs that sweep with it pick a prefix no existing name carries.
func Leftovers(prefix string, extra ...string) []string {
	var out []string
	patterns := append([]string{filepath.Join(NetnsDir, prefix+"-*"), filepath.Join(BPFFSRoot, prefix+"-*")}, extra...)
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	return out
}

// RemoveLeftover deletes one path returned by Leftovers: a namespace with `ip netns del`,
// anything else with os.RemoveAll.
func RemoveLeftover(path string) error {
	if filepath.Dir(path) == NetnsDir {
		name := filepath.Base(path)
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns del %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return os.RemoveAll(path)
}
