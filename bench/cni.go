package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ebpfnet/ebpfnet/testbed"
)

// CNI says where the CNI tools are.
type CNI struct {
	Cnitool   string // cnitool binary (go install github.com/containernetworking/cni/cnitool@v1.3.1)
	PluginDir string // CNI_PATH: Debian's containernetworking-plugins install to /usr/lib/cni
}

// DefaultCNIPluginDir is where Debian's containernetworking-plugins package puts the plugins.
const DefaultCNIPluginDir = "/usr/lib/cni"

// cniVersion is the newest version Debian 12's plugins (1.1.1) accept.
const cniVersion = "1.0.0"

// cnitoolCacheDir is where libcni (and so cnitool, which has no option for it) caches
// results: /var/lib/cni/results/<network>-<containerID>-<ifname>. removeCNICache deletes ours.
const cnitoolCacheDir = "/var/lib/cni/results"

// portMapping is one entry of the portMappings capability (CNI CONVENTIONS.md).
type portMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// hostNet is one host's CNI network: a bridge with host-local IPAM, then portmap.
type hostNet struct {
	cni     CNI
	name    string // network name; unique per bed so cache files are ours
	confDir string // NETCONFPATH
	subnet  netip.Prefix
	gateway netip.Addr
}

// writeConflist writes the host's .conflist: the bridge plugin (gateway, default route,
// hairpin, MTU 1450, no ipMasq: egress masquerade is one host rule so that cross-host
// container traffic stays unmasqueraded, as Flannel does) with host-local IPAM keeping its
// leases in ipamDir, chained with portmap (snat for hairpin and localhost).
func (n *hostNet) writeConflist(ipamDir string, mtu int) error {
	rangeStart := n.gateway.Next()
	conf := map[string]any{
		"cniVersion": cniVersion,
		"name":       n.name,
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "isDefaultGateway": true,
				"ipMasq": false, "hairpinMode": true, "mtu": mtu,
				"ipam": map[string]any{
					"type": "host-local", "dataDir": ipamDir,
					"ranges": [][]map[string]string{{{
						"subnet": n.subnet.String(), "gateway": n.gateway.String(), "rangeStart": rangeStart.String(),
					}}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(n.confDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(n.confDir, n.name+".conflist"), b, 0o644)
}

// cniResult is the part of a CNI result we use.
type cniResult struct {
	IPs []struct {
		Address string `json:"address"`
	} `json:"ips"`
}

// add runs `cnitool add <net> <netnsPath>` inside hostNS, as a container runtime would, with
// ports as the portMappings capability argument, and returns the container's address.
func (n *hostNet) add(ctx context.Context, bed *testbed.Bed, hostNS, netnsPath string, ports []portMapping) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	capArgs, _ := json.Marshal(map[string]any{"portMappings": ports})
	cmd := bed.Command(hostNS, n.cni.Cnitool, "add", n.name, netnsPath)
	if cmd.Err != nil {
		return netip.Addr{}, cmd.Err
	}
	cmd.Env = append(os.Environ(), "CNI_PATH="+n.cni.PluginDir, "NETCONFPATH="+n.confDir)
	if len(ports) > 0 {
		cmd.Env = append(cmd.Env, "CAP_ARGS="+string(capArgs))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return netip.Addr{}, err
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		err = fmt.Errorf("%w (%w)", <-done, ctx.Err())
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cnitool add %s %s in %s: %w: %s", n.name, netnsPath, hostNS, err,
			lastLines(stderr.String()+stdout.String(), 5))
	}
	var r cniResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || len(r.IPs) == 0 {
		return netip.Addr{}, fmt.Errorf("cnitool add %s: no address in result: %v: %s", netnsPath, err, lastLines(stdout.String(), 5))
	}
	p, err := netip.ParsePrefix(r.IPs[0].Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cnitool add %s: %w", netnsPath, err)
	}
	return p.Addr(), nil
}

// portmapConf is the stdin of a direct portmap plugin call: the plugin's own configuration,
// the runtime's port mappings and the previous plugin's result (the container's address).
func (n *hostNet) portmapConf(netnsPath string, ip netip.Addr, ports []portMapping) []byte {
	conf := map[string]any{
		"cniVersion": cniVersion, "name": n.name, "type": "portmap",
		"capabilities":  map[string]bool{"portMappings": true},
		"snat":          true,
		"runtimeConfig": map[string]any{"portMappings": ports},
		"prevResult": map[string]any{
			"cniVersion": cniVersion,
			"interfaces": []map[string]string{{"name": "eth0", "sandbox": netnsPath}},
			"ips": []map[string]any{{
				"address": netip.PrefixFrom(ip, n.subnet.Bits()).String(), "gateway": n.gateway.String(), "interface": 0,
			}},
		},
	}
	b, _ := json.Marshal(conf)
	return b
}

// portmapEnv is the CNI environment of a direct portmap call.
func (n *hostNet) portmapEnv(command, containerID, netnsPath string) []string {
	return []string{"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + containerID, "CNI_NETNS=" + netnsPath,
		"CNI_IFNAME=eth0", "CNI_PATH=" + n.cni.PluginDir}
}

// removeCNICache deletes libcni's cached results of network name (cnitool always writes them
// to /var/lib/cni/results; the network name carries the bed prefix, so they are ours).
func removeCNICache(name string) error {
	if name == "" || strings.ContainsAny(name, "/*?[") {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(cnitoolCacheDir, name+"-*"))
	var errs []string
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove CNI cache: %s", strings.Join(errs, "; "))
	}
	return nil
}
