package cni

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
)

// PortMapping is one entry of runtimeConfig.portMappings, the "portMappings" capability of the
// CNI conventions (as the portmap plugin reads it): {"hostPort": 8080, "containerPort": 80,
// "protocol": "tcp", "hostIP": "192.168.50.1"}.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // tcp (default) or udp
	HostIP        string `json:"hostIP,omitempty"`   // empty = every host address
}

// Port is a validated PortMapping.
type Port struct {
	HostIP        netip.Addr // zero = every host address
	HostPort      uint16
	ContainerPort uint16
	Protocol      string // "tcp" or "udp"
}

func (p Port) String() string {
	host := ""
	if p.HostIP.IsValid() {
		host = p.HostIP.String() + ":"
	}
	return fmt.Sprintf("%s%d:%d/%s", host, p.HostPort, p.ContainerPort, p.Protocol)
}

// parsePortMappings validates the runtime's port mappings: ports 1..65535, protocol tcp or udp,
// hostIP empty or IPv4. A bad entry is an invalid network config naming the entry.
func parsePortMappings(in []PortMapping) ([]Port, error) {
	out := make([]Port, 0, len(in))
	for i, m := range in {
		bad := func(why string) error {
			return configError("runtimeConfig.portMappings[%d] %+v: %s", i, m, why)
		}
		if m.HostPort < 1 || m.HostPort > 65535 || m.ContainerPort < 1 || m.ContainerPort > 65535 {
			return nil, bad("ports must be 1..65535")
		}
		p := Port{HostPort: uint16(m.HostPort), ContainerPort: uint16(m.ContainerPort), Protocol: strings.ToLower(m.Protocol)}
		switch p.Protocol {
		case "":
			p.Protocol = "tcp"
		case "tcp", "udp":
		default:
			return nil, bad("protocol must be tcp or udp")
		}
		if m.HostIP != "" {
			ip, err := netip.ParseAddr(m.HostIP)
			if err != nil || !ip.Is4() {
				return nil, bad("hostIP must be an IPv4 address")
			}
			p.HostIP = ip
		}
		out = append(out, p)
	}
	return out, nil
}

// publishPorts publishes ports on the host to endpoint ep through the agent's BPF port map
// (what the portmap plugin does with iptables DNAT chains). It runs after the endpoint exists;
// on error the caller's rollback deletes the endpoint, which unpublishes what was published.
func publishPorts(ag Agent, ep api.Endpoint, ports []Port) error {
	for _, p := range ports {
		req := api.PublishRequest{Endpoint: ep.Name, Spec: fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.Protocol)}
		if p.HostIP.IsValid() {
			req.HostIP = p.HostIP.String()
		}
		if _, err := ag.Publish(req); err != nil {
			return agentError("ADD: publish "+p.String(), err)
		}
	}
	return nil
}
