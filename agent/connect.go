package agent

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ebpfnet/ebpfnet/api"
)

// ConnectEndpoint gives endpoint name's container one more interface (eth1, eth2, ...) on
// req.Network with address req.IP, as `docker network connect` does: a further endpoint
// record <name>.<network> with the same labels (and so the identity of those labels on req.Network) and links, whose
// interface gets its subnet's connected route but not the default route (see addEndpoint). The container's
// other interfaces and their flows are not touched. Refusals as AddEndpoint's, plus
// api.ErrNotFound (no such endpoint or network), api.ErrConflict (already on the network),
// api.ErrInvalid (name is itself a further interface).
func (a *Agent) ConnectEndpoint(ctx context.Context, name string, req api.ConnectRequest) (api.Endpoint, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	parent, err := a.findEndpoint(ctx, name)
	if err != nil {
		return api.Endpoint{}, err
	}
	if parent.Parent != "" {
		return api.Endpoint{}, invalid("endpoint %s is an interface of endpoint %s: connect %s", name, parent.Parent, parent.Parent)
	}
	nw, err := a.network(ctx, req.Network)
	if err != nil {
		return api.Endpoint{}, err
	}
	ifaces, err := a.interfacesOf(ctx, parent)
	if err != nil {
		return api.Endpoint{}, err
	}
	for _, e := range ifaces {
		if cmp.Or(e.Network, api.DefaultNetwork) == nw.Name {
			return api.Endpoint{}, conflict("endpoint %s is already on network %s (%s, %s)", name, nw.Name, ifNameOf(e), e.IP)
		}
	}
	used, err := a.netnsIfNames(ctx, parent.Netns)
	if err != nil {
		return api.Endpoint{}, err
	}
	ifName := ""
	for i := 1; ifName == ""; i++ {
		if n := fmt.Sprintf("eth%d", i); !used[n] {
			ifName = n
		}
	}
	labels := make([]string, 0, len(parent.Labels))
	for k, v := range parent.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return a.addEndpoint(ctx, api.EndpointRequest{
		Name: name + "." + nw.Name, Netns: parent.Netns, IP: req.IP, MAC: req.MAC, Labels: labels,
		IfName: ifName, Links: parent.Links, Network: nw.Name,
	}, name)
}

// DisconnectEndpoint removes the interface of endpoint name's container on network (its veth,
// map entries and record); the other interfaces and their flows are not touched. Refusals:
// api.ErrNotFound (no such endpoint, or not on the network), api.ErrConflict (network is
// the endpoint's first interface: delete the endpoint instead).
func (a *Agent) DisconnectEndpoint(ctx context.Context, name, network string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	parent, err := a.findEndpoint(ctx, name)
	if err != nil {
		return err
	}
	nw, err := a.network(ctx, network)
	if err != nil {
		return err
	}
	if parent.Parent == "" && cmp.Or(parent.Network, api.DefaultNetwork) == nw.Name {
		return conflict("network %s is endpoint %s's first interface (%s): delete the endpoint instead", nw.Name, name, ifNameOf(parent))
	}
	ifaces, err := a.interfacesOf(ctx, parent)
	if err != nil {
		return err
	}
	for _, e := range ifaces {
		if e.Parent != "" && cmp.Or(e.Network, api.DefaultNetwork) == nw.Name {
			return a.removeEndpoint(ctx, e)
		}
	}
	return notFound("endpoint %s is not on network %s", name, nw.Name)
}

// interfacesOf lists ep and the further interfaces of its container (records whose Parent is
// ep), the further ones first.
func (a *Agent) interfacesOf(ctx context.Context, ep api.Endpoint) ([]api.Endpoint, error) {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []api.Endpoint
	for _, e := range eps {
		if e.Parent == ep.Name && ep.Parent == "" {
			out = append(out, e)
		}
	}
	return append(out, ep), nil
}

// netnsIfNames are the container interface names of this node's endpoints in netns.
func (a *Agent) netnsIfNames(ctx context.Context, netns string) (map[string]bool, error) {
	eps, err := a.store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, e := range eps {
		if e.Netns == netns {
			used[ifNameOf(e)] = true
		}
	}
	return used, nil
}
