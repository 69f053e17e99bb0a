package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/wireguard"
)

// BPFFSRoot is where clusters pin their hosts' maps, one directory per host.
const BPFFSRoot = "/sys/fs/bpf"

// Host is one namespaced ebpfnet host: netns "<prefix>-<Name>", underlay "ul0".
type Host struct {
	Name       string       // short netns name, e.g. "h1"
	UnderlayIP netip.Addr   // address on ul0
	PodCIDR    netip.Prefix // this host's share of the cluster CIDR; zero = allocated by the agent's store
	PinDir     string       // per-host bpffs directory
	StateDir   string       // per-host state directory
	Socket     string       // per-host agent API socket
	Agent      *Proc        // running agent, nil when stopped
}

// Container is an endpoint in its own netns "<prefix>-<Name>".
type Container struct {
	Name string     // short netns name and endpoint name, e.g. "c1"
	Host *Host      // host it is attached to
	IP   netip.Addr // its address
}

// Cluster is N ebpfnet hosts on one underlay subnet (172.31.0.0/24; a direct veth for two
// hosts, a bridge in netns "sw" otherwise), each running `ebpfnet agent` with its own pin dir,
// state dir and socket. Host i (1-based) owns pod CIDR 10.42.i.0/24.
type Cluster struct {
	Bed    *Bed
	Binary string // ebpfnet binary
	// AgentPrefix is argv put before the agent's, e.g. nsenter into a mount namespace it must
	// share with a container runtime.
	AgentPrefix []string
	Hosts       []*Host
	Containers  []*Container
	// AgentArgs are extra flags every agent of the cluster starts with (before StartAgent's
	// own), e.g. --encryption wireguard for a whole test suite.
	AgentArgs []string
}

// UnderlayMTU is the MTU of the underlay links; containers get UnderlayMTU - 50.
const UnderlayMTU = 1500

// NewCluster builds the hosts and underlay of an n-host cluster in bed (agents not started).
func NewCluster(bed *Bed, binary string, n int) (*Cluster, error) {
	return newCluster(bed, binary, n, n != 2)
}

// NewSwitchedCluster is NewCluster with the underlay always on a bridge in netns "sw", so that
// AddOutside can put hosts outside the cluster on it.
func NewSwitchedCluster(bed *Bed, binary string, n int) (*Cluster, error) {
	return newCluster(bed, binary, n, true)
}

func newCluster(bed *Bed, binary string, n int, switched bool) (*Cluster, error) {
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("cluster of %d hosts: want 1..200", n)
	}
	c := &Cluster{Bed: bed, Binary: binary}
	for i := 1; i <= n; i++ {
		h := &Host{
			Name:       fmt.Sprintf("h%d", i),
			UnderlayIP: netip.AddrFrom4([4]byte{172, 31, 0, byte(i)}),
			PodCIDR:    netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 42, byte(i), 0}), 24),
			PinDir:     filepath.Join(BPFFSRoot, fmt.Sprintf("%s-h%d", bed.Prefix(), i)),
			StateDir:   filepath.Join(bed.TempDir(), fmt.Sprintf("h%d-state", i)),
			Socket:     filepath.Join(bed.TempDir(), fmt.Sprintf("h%d.sock", i)),
		}
		if _, err := bed.Netns(h.Name); err != nil {
			return nil, err
		}
		c.Hosts = append(c.Hosts, h)
	}
	return c, c.wireUnderlay(switched)
}

func (c *Cluster) wireUnderlay(switched bool) error {
	addr := func(h *Host) netip.Prefix { return netip.PrefixFrom(h.UnderlayIP, 24) }
	if !switched {
		return c.Bed.Link(c.Hosts[0].Name, "ul0", addr(c.Hosts[0]), c.Hosts[1].Name, "ul0", addr(c.Hosts[1]), UnderlayMTU)
	}
	if _, err := c.Bed.Netns("sw"); err != nil {
		return err
	}
	if _, err := c.Bed.Run(context.Background(), "sw", "ip", "link", "add", "br0", "up", "type", "bridge"); err != nil {
		return err
	}
	if err := c.switchWithoutNetfilter(); err != nil {
		return err
	}
	for i, h := range c.Hosts {
		port := fmt.Sprintf("p%d", i+1)
		if err := c.Bed.Link(h.Name, "ul0", addr(h), "sw", port, netip.Prefix{}, UnderlayMTU); err != nil {
			return err
		}
		if _, err := c.Bed.Run(context.Background(), "sw", "ip", "link", "set", port, "master", "br0"); err != nil {
			return err
		}
		if err := c.wireLikePort(port); err != nil {
			return err
		}
	}
	return nil
}

// brNetfilterSysctl exists when the br_netfilter module is loaded (by anything on the
// machine); new namespaces then pass bridged IPv4 through iptables by default.
const brNetfilterSysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// switchWithoutNetfilter turns br_netfilter's hooks off for the switch's bridge (its netns
// only): a switch runs no iptables, and whether some other program loaded br_netfilter must
// not change what crosses the underlay or what it costs.
func (c *Cluster) switchWithoutNetfilter() error {
	if _, err := os.Stat(brNetfilterSysctl); err != nil {
		return nil // module not loaded: nothing to turn off
	}
	_, err := c.Bed.Run(context.Background(), "sw", "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0",
		"net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0")
	return err
}

// wireLikePort lets switch port carry GSO packets of BIG TCP size (a kernel without it keeps
// 64 KiB): the bridge stands in for a wire, where the sending host's NIC has segmented
// everything already, so the switch limits no host's GSO size. Without it the port would
// segment a host's BIG TCP packets in software, which no physical switch does.
func (c *Cluster) wireLikePort(port string) error {
	h, err := c.Bed.Handle("sw")
	if err != nil {
		return err
	}
	l, err := h.LinkByName(port)
	if err != nil {
		return fmt.Errorf("switch port %s: %w", port, err)
	}
	_, err = endpoint.RaiseBigTCPIPv4(h, l, endpoint.BigTCPIPv4MaxSize)
	return err
}

// AddOutside creates netns name as a machine outside the cluster with address ip/24 on the
// underlay switch (clusters from NewSwitchedCluster or with more than two hosts).
func (c *Cluster) AddOutside(name string, ip netip.Addr) error {
	if _, err := c.Bed.Path("sw"); err != nil {
		return fmt.Errorf("outside host %s: the cluster has no underlay switch: %w", name, err)
	}
	if _, err := c.Bed.Netns(name); err != nil {
		return err
	}
	port := "o-" + name
	if len(port) > 15 {
		port = port[:15]
	}
	if err := c.Bed.Link(name, "eth0", netip.PrefixFrom(ip, 24), "sw", port, netip.Prefix{}, UnderlayMTU); err != nil {
		return err
	}
	_, err := c.Bed.Run(context.Background(), "sw", "ip", "link", "set", port, "master", "br0")
	return err
}

// Host returns the host with short name name, or nil.
func (c *Cluster) Host(name string) *Host {
	for _, h := range c.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// StartAgent starts h's agent inside h's netns and waits until its API answers.
func (c *Cluster) StartAgent(h *Host, extra ...string) error {
	argv := append(slices.Clone(c.AgentPrefix), c.Binary, "--socket", h.Socket, "agent", "--underlay-dev", "ul0", "--pin-dir", h.PinDir, "--state-dir", h.StateDir)
	if h.PodCIDR.IsValid() { // zero: the agent gets one from its store (--store etcd)
		argv = append(argv, "--pod-cidr", h.PodCIDR.String())
	}
	argv = append(append(argv, c.AgentArgs...), extra...)
	p, err := c.Bed.Start(h.Name, argv...)
	if err != nil {
		return err
	}
	h.Agent = p
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.CLI(h, "status"); err == nil {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("agent on %s exited: %s", h.Name, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("agent on %s did not answer within 20s: %s", h.Name, p.Log())
}

// KillAgent ends h's agent with SIGKILL, as a crash would; pins stay.
func (c *Cluster) KillAgent(h *Host) error {
	if h.Agent == nil {
		return nil
	}
	err := h.Agent.Kill()
	h.Agent = nil
	return err
}

// CLI runs `ebpfnet --socket <h's socket> args...` and returns its combined output; the error
// (exit status) carries the output too.
func (c *Cluster) CLI(h *Host, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.Binary, append([]string{"--socket", h.Socket}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ebpfnet %s on %s: %w: %s", strings.Join(args, " "), h.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// MeshPeers tells every host the pod CIDR and underlay IP of every other host (peer add), and
// its WireGuard public key when that host's agent runs with encryption.
func (c *Cluster) MeshPeers() error {
	keys := map[*Host]string{}
	for _, h := range c.Hosts {
		out, err := c.CLI(h, "status", "-o", "json")
		if err != nil {
			return err
		}
		var st api.Status
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return fmt.Errorf("status of %s: %w", h.Name, err)
		}
		if st.WireGuard != nil {
			keys[h] = st.WireGuard.PublicKey
		}
	}
	for _, h := range c.Hosts {
		for _, o := range c.Hosts {
			if o == h {
				continue
			}
			args := []string{"peer", "add", o.PodCIDR.String(), "--host", o.UnderlayIP.String()}
			if keys[o] != "" {
				args = append(args, "--wg-public-key", keys[o])
			}
			if _, err := c.CLI(h, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// AddContainer creates netns name and attaches it to h as endpoint name with address ip.
func (c *Cluster) AddContainer(h *Host, name string, ip netip.Addr, labels ...string) (*Container, error) {
	path, err := c.Bed.Netns(name)
	if err != nil {
		return nil, err
	}
	args := []string{"endpoint", "add", name, "--netns", path, "--ip", ip.String()}
	for _, l := range labels {
		args = append(args, "--label", l)
	}
	if _, err := c.CLI(h, args...); err != nil {
		return nil, err
	}
	ct := &Container{Name: name, Host: h, IP: ip}
	c.Containers = append(c.Containers, ct)
	return ct, nil
}

// AgentLogs returns the logs of the running agents, for failure reports.
func (c *Cluster) AgentLogs() string {
	var b strings.Builder
	for _, h := range c.Hosts {
		if h.Agent != nil {
			fmt.Fprintf(&b, "agent %s log:\n%s\n", h.Name, h.Agent.Log())
		}
	}
	return b.String()
}

// Close stops the agents and their detached userspace WireGuard helpers (which would keep the
// namespaces alive) and removes every host's pins (which detaches their programs). The bed's
// Close removes namespaces and processes.
func (c *Cluster) Close() error {
	var errs []error
	for _, h := range c.Hosts {
		if h.Agent != nil {
			errs = append(errs, h.Agent.Stop())
			h.Agent = nil
		}
		errs = append(errs, wireguard.StopHelper(h.StateDir, wireguard.DeviceName(h.UnderlayIP, h.StateDir)))
		errs = append(errs, os.RemoveAll(h.PinDir))
	}
	return errors.Join(errs...)
}
