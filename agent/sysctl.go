package agent

import (
	"fmt"
	"os"
	"path/filepath"
)

// enableForwarding turns on IPv4 forwarding for one device of the agent's netns:
// bpf_fib_lookup (which picks the VXLAN next hop) refuses devices without it
// (BPF_FIB_LKUP_RET_FWD_DISABLED, net/core/filter.c). Only that device is changed, not
// net.ipv4.ip_forward.
func enableForwarding(dev string) error {
	p := filepath.Join("/proc/sys/net/ipv4/conf", dev, "forwarding")
	if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IPv4 forwarding on %s: %w", dev, err)
	}
	return nil
}
