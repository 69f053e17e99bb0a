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
func enableForwarding(dev string) error { return setIPv4Conf(dev, "forwarding") }

// enableLoopbackAcceptLocal lets loopback accept packets whose source is a local address:
// replies to the host's own connections to published ports are handed to the stack through
// loopback ingress with the published (local) address as source, which
// fib_validate_source() otherwise drops as martian (net/ipv4/fib_frontend.c).
func enableLoopbackAcceptLocal() error { return setIPv4Conf("lo", "accept_local") }

// setIPv4Conf sets net.ipv4.conf.<dev>.<key> = 1 in the agent's netns.
func setIPv4Conf(dev, key string) error {
	p := filepath.Join("/proc/sys/net/ipv4/conf", dev, key)
	if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("set net.ipv4.conf.%s.%s: %w", dev, key, err)
	}
	return nil
}
