package cni

import (
	"errors"
	"slices"

	"github.com/ebpfnet/ebpfnet/api"
)

// network is the ebpfnet network an ADD attaches to: the config's `network` key; without one
// the network named as the conflist (its `name`) when the agent has one, else the default
// network (so configs from before networks keep attaching there). An unknown `network` is an
// invalid network config (code 7).
func (c *NetConf) network(ag Agent, node api.Node) (api.Network, error) {
	name := c.Network
	if name == "" {
		name = c.Name
	}
	info, err := ag.Network(name)
	switch {
	case errors.Is(err, api.ErrNotFound) && c.Network == "":
		return api.Network{Name: api.DefaultNetwork, Subnet: node.Cluster}, nil
	case errors.Is(err, api.ErrNotFound):
		return api.Network{}, configError("network %q: no such ebpfnet network (ebpfnet network list)", c.Network)
	case err != nil:
		return api.Network{}, agentError("ADD", err)
	}
	return info.Network, nil
}

// poolNode is node with PodCIDR and Gateway set to this node's pool on nw, where the default
// IPAM takes addresses (ipamConfig) and the agent puts the gateway: the node's pod CIDR on the
// default network, else its slice of nw's subnet (the agent allocates it on first use) and
// the slice's first address.
func poolNode(ag Agent, nw api.Network, node api.Node) (api.Node, error) {
	if nw.Name == api.DefaultNetwork {
		return node, nil
	}
	s, err := ag.NetworkSlice(nw.Name)
	if err != nil {
		return api.Node{}, agentError("ADD: this node's slice of network "+nw.Name, err)
	}
	node.PodCIDR, node.Gateway = s.CIDR, s.CIDR.Addr().Next()
	return node, nil
}

// requestNetwork is EndpointRequest.Network for nw: empty for the default network, so the
// request is one an agent from before networks accepts too.
func requestNetwork(nw api.Network) string {
	if nw.Name == api.DefaultNetwork {
		return ""
	}
	return nw.Name
}

// firstInterface reports whether netns has no endpoint yet: the agent gives only a
// container's first interface the default route.
func firstInterface(ag Agent, netns string) (bool, error) {
	eps, err := ag.Endpoints()
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(eps, func(e api.Endpoint) bool { return e.Netns == netns }), nil
}
