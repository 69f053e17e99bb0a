package cni

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
	"github.com/ebpfnet/ebpfnet/endpoint"
)

// Agent is the part of the agent API the plugin uses; *client.Client implements it.
type Agent interface {
	Status() (api.Status, error)
	Endpoints() ([]api.Endpoint, error)
	AddEndpoint(api.EndpointRequest) (api.Endpoint, error)
	DeleteEndpoint(name string) error
	Publish(api.PublishRequest) (api.PortMapping, error)
	Network(name string) (api.NetworkInfo, error)
	NetworkSlice(name string) (api.NetworkSlice, error)
}

// Plugin implements the CNI commands. The zero value talks to the real agent and runs IPAM
// plugins from CNI_PATH.
type Plugin struct {
	NewAgent func(socket string) Agent // nil = client.NewClient
	Exec     invoke.Exec               // nil = run plugin binaries
	Stdout   io.Writer                 // ADD's result; nil = os.Stdout
}

// Funcs returns the commands for skel.PluginMainFuncs. Each turns a panic into an ErrInternal
// error and any other error into a *types.Error.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{
		Add: guard("ADD", p.Add), Del: guard("DEL", p.Del), Check: guard("CHECK", p.Check),
		GC: guard("GC", p.GC), Status: guard("STATUS", p.Status),
	}
}

func guard(cmd string, fn func(*skel.CmdArgs) error) func(*skel.CmdArgs) error {
	return func(args *skel.CmdArgs) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = types.NewError(types.ErrInternal, fmt.Sprintf("ebpfnet-cni %s: internal error: %v", cmd, r), string(debug.Stack()))
			}
		}()
		if err := fn(args); err != nil {
			return asCNIError(err)
		}
		return nil
	}
}

func (p *Plugin) agent(socket string) Agent {
	if p.NewAgent != nil {
		return p.NewAgent(socket)
	}
	return client.NewClient(socket)
}

// Add allocates an address with the IPAM plugin and has the agent attach the container with
// it. Whatever fails after the allocation, a panic included, is undone (endpoint deleted,
// address released), so a failed ADD leaves nothing behind.
func (p *Plugin) Add(args *skel.CmdArgs) (err error) {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	labels, err := conf.Labels(args.ContainerID, args.Args)
	if err != nil {
		return err
	}
	if err := checkContainerNetns(args.Netns); err != nil {
		return err
	}
	ag, st, err := p.agentStatus(conf, "ADD")
	if err != nil {
		return err
	}
	mtu, err := conf.ContainerMTU(st.Node.MTU)
	if err != nil {
		return err
	}
	nw, err := conf.network(ag, st.Node)
	if err != nil {
		return err
	}
	pool, err := poolNode(ag, nw, st.Node)
	if err != nil {
		return err
	}
	first, err := firstInterface(ag, args.Netns)
	if err != nil {
		return agentError("ADD", err)
	}
	name := EndpointName(args.ContainerID, args.IfName)
	if ep, ok, err := findEndpoint(ag, name); err != nil {
		return agentError("ADD", err)
	} else if ok {
		return internalError("container %s is already attached on %s as endpoint %s (IP %s); DEL it first",
			args.ContainerID, args.IfName, name, ep.IP)
	}
	ipamConf, err := conf.ipamConfig(pool)
	if err != nil {
		return err
	}
	ipamRes, err := p.ipam("ADD", conf.IPAMType(), ipamConf, args.ContainerID, args.IfName, args)
	if err != nil {
		return err
	}

	done, attached := false, false
	defer func() {
		if done {
			return
		}
		var errs []error
		if attached {
			errs = append(errs, deleteEndpoint(ag, name))
		}
		errs = append(errs, p.ipamDel(conf, ipamConf, args))
		if err != nil {
			err = withDetails(asCNIError(err), errs...)
		}
	}()
	ip, err := firstIPv4Of(ipamRes)
	if err != nil {
		return internalError("IPAM %s: %v", conf.IPAMType(), err)
	}
	// Until the agent answers, the endpoint may exist (a timed-out request can still complete);
	// an answered refusal means the agent made nothing, and the name may be someone else's.
	attached = true
	ep, err := ag.AddEndpoint(api.EndpointRequest{
		Name: name, Netns: args.Netns, IP: ip.String(), Labels: labelList(labels), IfName: args.IfName, MTU: mtu,
		Network: requestNetwork(nw),
	})
	if err != nil {
		var refused *client.Error
		attached = !errors.As(err, &refused)
		return agentError("ADD: attach "+name, err)
	}
	if err := publishPorts(ag, ep, conf.ports); err != nil {
		return err
	}
	res, err := result(conf, pool, nw, first, ep, args).GetAsVersion(conf.CNIVersion)
	if err != nil {
		return internalError("ADD: result for cniVersion %q: %v", conf.CNIVersion, err)
	}
	out := p.Stdout
	if out == nil {
		out = os.Stdout
	}
	if err := res.PrintTo(out); err != nil {
		return err
	}
	done = true
	return nil
}

// result describes what ADD made: the host veth, the container interface, its address (with
// the prefix length the agent configures: the network subnet's), the default route via the
// gateway of node (poolNode's: the first address of the node's pod CIDR or slice) and DNS.
func result(conf *NetConf, node api.Node, nw api.Network, defaultRoute bool, ep api.Endpoint, args *skel.CmdArgs) *current.Result {
	gw := net.IP(node.Gateway.AsSlice())
	res := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: ep.HostIfName, Mac: node.RouterMAC, Mtu: ep.MTU},
			{Name: args.IfName, Mac: ep.MAC, Mtu: ep.MTU, Sandbox: args.Netns},
		},
		IPs: []*current.IPConfig{{
			Interface: current.Int(1),
			Address:   net.IPNet{IP: ep.IP.AsSlice(), Mask: net.CIDRMask(nw.Subnet.Bits(), 32)},
			Gateway:   gw,
		}},
		DNS: conf.DNS,
	}
	if defaultRoute {
		res.Routes = []*types.Route{{Dst: net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, GW: gw}}
	}
	return res
}

// Del detaches the container and releases its address. Nothing to delete is success: a
// missing endpoint or netns and an already released address are all fine. An unreachable agent
// is an error (try again later), so the address is not reused while the endpoint may still
// hold it.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	ag, st, err := p.agentStatus(conf, "DEL")
	if err != nil {
		return err
	}
	name := EndpointName(args.ContainerID, args.IfName)
	ep, ok, err := findEndpoint(ag, name)
	if err != nil {
		return agentError("DEL", err)
	}
	if ok && ep.Labels[LabelContainerID] == args.ContainerID {
		if err := deleteEndpoint(ag, name); err != nil {
			return err
		}
	}
	if conf.needsPodCIDR() && !st.Node.PodCIDR.IsValid() {
		return nil // the default IPAM cannot have allocated anything on this node
	}
	ipamConf, err := conf.ipamConfig(st.Node)
	if err != nil {
		return err
	}
	return p.ipamDel(conf, ipamConf, args)
}

// Check verifies the attachment against prevResult: the agent has the endpoint with that
// address and a live veth, the container interface is up with that address, and the IPAM
// plugin still holds the allocation.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	prev, err := prevResult(conf)
	if err != nil {
		return err
	}
	want, err := prevAddress(prev, args.IfName)
	if err != nil {
		return err
	}
	ag, st, err := p.agentStatus(conf, "CHECK")
	if err != nil {
		return err
	}
	name := EndpointName(args.ContainerID, args.IfName)
	ep, ok, err := findEndpoint(ag, name)
	switch {
	case err != nil:
		return agentError("CHECK", err)
	case !ok || ep.Labels[LabelContainerID] != args.ContainerID:
		return internalError("CHECK: the agent has no endpoint %s for container %s", name, args.ContainerID)
	case ep.IP != want.Addr():
		return internalError("CHECK: endpoint %s has IP %s, prevResult says %s", name, ep.IP, want.Addr())
	case ep.Netns != args.Netns:
		return internalError("CHECK: endpoint %s is in netns %s, not %s", name, ep.Netns, args.Netns)
	case ep.IfIndex == 0:
		return internalError("CHECK: the host veth %s of endpoint %s is gone", ep.HostIfName, name)
	}
	if err := checkContainer(args.Netns, args.IfName, want, prevDefaultGateway(prev)); err != nil {
		return err
	}
	ipamConf, err := conf.ipamConfig(st.Node)
	if err != nil {
		return err
	}
	_, err = p.ipam("CHECK", conf.IPAMType(), ipamConf, args.ContainerID, args.IfName, args)
	return err
}

// GC deletes the endpoints this plugin made for this network whose (container ID, ifname) is
// not in cni.dev/valid-attachments, releases their addresses, then runs the IPAM plugin's GC.
// It keeps going after a failure and reports all of them.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	ag, st, err := p.agentStatus(conf, "GC")
	if err != nil {
		return err
	}
	eps, err := ag.Endpoints()
	if err != nil {
		return agentError("GC", err)
	}
	var ipamConf []byte
	if !conf.needsPodCIDR() || st.Node.PodCIDR.IsValid() {
		if ipamConf, err = conf.ipamConfig(st.Node); err != nil {
			return err
		}
	}
	keep := conf.validAttachments()
	var errs []error
	for _, ep := range eps {
		id, ours := ep.Labels[LabelContainerID]
		att := types.GCAttachment{ContainerID: id, IfName: ifNameOf(ep)}
		if !ours || ep.Labels[LabelNetwork] != conf.Name || keep[att] {
			continue
		}
		if err := deleteEndpoint(ag, ep.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		if ipamConf != nil {
			stale := &skel.CmdArgs{ContainerID: att.ContainerID, IfName: att.IfName, Path: args.Path}
			errs = append(errs, p.ipamDel(conf, ipamConf, stale))
		}
	}
	if ipamConf != nil {
		_, err := p.ipam("GC", conf.IPAMType(), ipamConf, "", "", &skel.CmdArgs{Path: args.Path})
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return internalError("GC: %v", err)
	}
	return nil
}

// Status succeeds when the agent answers and can serve an ADD with this config; otherwise it
// is ErrPluginNotAvailable (50). The IPAM plugin's STATUS is asked too.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	conf, err := ParseConfig(args.StdinData)
	if err != nil {
		return err
	}
	st, err := p.agent(conf.AgentSocket).Status()
	if err != nil {
		return newError(types.ErrPluginNotAvailable, "ebpfnet agent not available: %v", err)
	}
	ipamConf, err := conf.ipamConfig(st.Node)
	if err != nil {
		return newError(types.ErrPluginNotAvailable, "%s", asCNIError(err).Msg)
	}
	if _, err := p.ipam("STATUS", conf.IPAMType(), ipamConf, "", "", args); err != nil {
		return newError(types.ErrPluginNotAvailable, "%s", asCNIError(err).Msg)
	}
	return nil
}

// ipam runs the IPAM plugin typ with command cmd for (containerID, ifName), with CNI_NETNS,
// CNI_ARGS and CNI_PATH from args. ADD returns its result. Errors of the IPAM plugin keep
// their code; others are ErrInternal naming the plugin.
func (p *Plugin) ipam(cmd, typ string, conf []byte, containerID, ifName string, args *skel.CmdArgs) (types.Result, error) {
	find := invoke.FindInPath
	if p.Exec != nil {
		find = p.Exec.FindInPath
	}
	path, err := find(typ, filepath.SplitList(args.Path))
	if err != nil {
		return nil, internalError("IPAM %s: %v", typ, err)
	}
	iargs := &invoke.Args{Command: cmd, ContainerID: containerID, NetNS: args.Netns, IfName: ifName,
		PluginArgsStr: args.Args, Path: args.Path}
	var res types.Result
	if cmd == "ADD" {
		res, err = invoke.ExecPluginWithResult(context.Background(), path, conf, iargs, p.Exec)
	} else {
		err = invoke.ExecPluginWithoutResult(context.Background(), path, conf, iargs, p.Exec)
	}
	var e *types.Error
	switch {
	case errors.As(err, &e):
		return nil, types.NewError(e.Code, fmt.Sprintf("IPAM %s %s: %s", typ, cmd, e.Msg), e.Details)
	case err != nil:
		return nil, internalError("IPAM %s %s: %v", typ, cmd, err)
	}
	return res, nil
}

// ipamDel releases the address of (args.ContainerID, args.IfName).
func (p *Plugin) ipamDel(conf *NetConf, ipamConf []byte, args *skel.CmdArgs) error {
	_, err := p.ipam("DEL", conf.IPAMType(), ipamConf, args.ContainerID, args.IfName, args)
	return err
}

// findEndpoint looks name up in the agent's endpoints.
func findEndpoint(ag Agent, name string) (api.Endpoint, bool, error) {
	eps, err := ag.Endpoints()
	if err != nil {
		return api.Endpoint{}, false, err
	}
	i := slices.IndexFunc(eps, func(e api.Endpoint) bool { return e.Name == name })
	if i < 0 {
		return api.Endpoint{}, false, nil
	}
	return eps[i], true, nil
}

// deleteEndpoint deletes name in the agent; an endpoint that is already gone is fine.
func deleteEndpoint(ag Agent, name string) error {
	if err := ag.DeleteEndpoint(name); err != nil && !isNotFound(err) {
		return agentError("delete endpoint "+name, err)
	}
	return nil
}

// ifNameOf is the container interface of ep (eth0 for endpoints made before IfName existed).
func ifNameOf(ep api.Endpoint) string {
	if ep.IfName == "" {
		return endpoint.DefaultIfName
	}
	return ep.IfName
}

// labelList turns labels into the agent's "key=value" form.
func labelList(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// firstIPv4Of returns the first IPv4 address of an IPAM result.
func firstIPv4Of(r types.Result) (netip.Addr, error) {
	res, err := current.NewResultFromResult(r)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("convert result: %w", err)
	}
	for _, ipc := range res.IPs {
		if a, ok := netip.AddrFromSlice(ipc.Address.IP); ok && a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv4 address in result %v", res.IPs)
}

// agentStatus connects to conf's agent and reads its status; cmd names the CNI command in the
// error (try again later when the agent does not answer).
func (p *Plugin) agentStatus(conf *NetConf, cmd string) (Agent, api.Status, error) {
	ag := p.agent(conf.AgentSocket)
	st, err := ag.Status()
	if err != nil {
		return nil, st, agentError(cmd, err)
	}
	return ag, st, nil
}
