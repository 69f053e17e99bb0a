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

// enableLoopbackReplies lets loopback ingress accept the replies to the host's own
// connections to published ports, which the datapath hands to the stack there without a
// route attached: accept_local for a local source address, which fib_validate_source()
// otherwise drops as martian (net/ipv4/fib_frontend.c), and route_localnet for 127.0.0.0/8
// (replies to `curl 127.0.0.1:8080`), which ip_route_input_slow() drops as martian without
// it (net/ipv4/route.c). Only lo is changed: a 127.0.0.0/8 packet arriving on any other
// device stays a martian (the route_localnet exposure of CVE-2020-8558 needs it there).
func enableLoopbackReplies() error {
	if err := setIPv4Conf("lo", "accept_local"); err != nil {
		return err
	}
	return setIPv4Conf("lo", "route_localnet")
}

// setIPv4Conf sets net.ipv4.conf.<dev>.<key> = 1 in the agent's netns.
func setIPv4Conf(dev, key string) error {
	p := filepath.Join("/proc/sys/net/ipv4/conf", dev, key)
	if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("set net.ipv4.conf.%s.%s: %w", dev, key, err)
	}
	return nil
}
