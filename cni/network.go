package cni

import (
	"errors"
	"slices"

	"github.com/ebpfnet/ebpfnet/api"
)

// network is the ebpfnet network an ADD attaches to: the config's `network` key; without one
// the network named as the conflist (its `name`) when the agent has one, else the default
// network (so configs from before networks keep attaching there). An unknown `network` is an
// invalid network config (code 7); so is a network other than the default one with
// host-local IPAM and no ranges or subnet: only the default network has a per-node pod CIDR
// to allocate from.
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
	if info.Name != api.DefaultNetwork && c.needsPodCIDR() {
		return api.Network{}, configError("ipam: network %s (%s) has no per-node pod CIDR: give this node's range of it in ipam.ranges", info.Name, info.Subnet)
	}
	return info.Network, nil
}

// gateway is the containers' gateway on nw: the node's on the default network, else the
// first address of nw's subnet (as the agent sets it).
func gateway(nw api.Network, node api.Node) []byte {
	if nw.Name == api.DefaultNetwork {
		return node.Gateway.AsSlice()
	}
	return nw.Subnet.Addr().Next().AsSlice()
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
