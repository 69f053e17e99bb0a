package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/endpoint"
	"github.com/ebpfnet/ebpfnet/store"
)

// MaxNetworks bounds the networks of a cluster, the default one included: datapath ids are
// 0..MaxNetworks-1.
const MaxNetworks = 1024

// FirstNetworkVNI is the first VNI given to a network created without --vni (Docker's overlay
// driver allocates its VNIs from 4096 too, libnetwork drivers/overlay vxlanIDStart).
const FirstNetworkVNI = 4096

// maxVNI is the largest 24-bit VXLAN network identifier (RFC 7348 section 5).
const maxVNI = 1<<24 - 1

// maxSliceBits bounds a network's node slices to 2^16 (store.Etcd.AllocatePodCIDR's limit).
const maxSliceBits = 16

// createNetworkAttempts bounds the retries of a network creation that lost a race for its id
// or VNI with another node (etcd).
const createNetworkAttempts = 3

// defaultNetwork is the network of the node's start-up flags (--cluster-cidr, --vni,
// --host-nat, the pod CIDR's size), datapath id 0.
func (a *Agent) defaultNetwork() api.Network {
	return api.Network{
		Name: api.DefaultNetwork, Subnet: a.node.Cluster, VNI: a.node.VNI, Mode: api.NetworkModeVXLAN,
		HostNAT: a.cfg.HostNAT, HostPorts: true, NodePrefixLen: max(a.node.PodCIDR.Bits(), 0),
	}
}

// networks lists every network, the default one first, then the stored ones by name.
func (a *Agent) networks(ctx context.Context) ([]api.Network, error) {
	stored, err := a.store.Networks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return append([]api.Network{a.defaultNetwork()}, stored...), nil
}

// network returns the named network ("" = the default one); api.ErrNotFound if unknown.
func (a *Agent) network(ctx context.Context, name string) (api.Network, error) {
	name = cmp.Or(name, api.DefaultNetwork)
	all, err := a.networks(ctx)
	if err != nil {
		return api.Network{}, err
	}
	for _, n := range all {
		if n.Name == name {
			return n, nil
		}
	}
	return api.Network{}, notFound("network %s: %v", name, store.ErrNotFound)
}

// Networks lists every network with the endpoints attached to it on any node.
func (a *Agent) Networks(ctx context.Context) ([]api.NetworkInfo, error) {
	all, err := a.networks(ctx)
	if err != nil {
		return nil, err
	}
	members, err := a.networkMembers(ctx)
	if err != nil {
		return nil, err
	}
	allSlices, err := a.networkSlices(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.NetworkInfo, len(all))
	for i, n := range all {
		out[i] = networkInfo(n, members, allSlices)
	}
	return out, nil
}

// Network returns the named network with its endpoints; api.ErrNotFound if unknown.
func (a *Agent) Network(ctx context.Context, name string) (api.NetworkInfo, error) {
	n, err := a.network(ctx, name)
	if err != nil {
		return api.NetworkInfo{}, err
	}
	members, err := a.networkMembers(ctx)
	if err != nil {
		return api.NetworkInfo{}, err
	}
	allSlices, err := a.networkSlices(ctx)
	if err != nil {
		return api.NetworkInfo{}, err
	}
	return networkInfo(n, members, allSlices), nil
}

// networkInfo is n with its members and the nodes' slices of it out of all (empty lists,
// never null, when it has none).
func networkInfo(n api.Network, members map[string][]string, all []api.NetworkSlice) api.NetworkInfo {
	eps := members[n.Name]
	if eps == nil {
		eps = []string{}
	}
	return api.NetworkInfo{Network: n, Endpoints: eps, Slices: slicesOf(n, all)}
}

// networkMembers maps network names to the sorted names of their endpoints on every node.
func (a *Agent) networkMembers(ctx context.Context) (map[string][]string, error) {
	eps, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := map[string][]string{}
	for _, e := range eps {
		net := cmp.Or(e.Network, api.DefaultNetwork)
		out[net] = append(out[net], e.Name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out, nil
}

// CreateNetwork validates req against every network of the cluster (name, subnet overlap, VNI)
// and stores the network with the lowest free datapath id. Refusals: api.ErrInvalid for
// malformed input, api.ErrConflict for a taken name or VNI or an overlapping subnet,
// api.ErrFull past MaxNetworks, api.ErrUnsupported for a native network on a node that encrypts, and
// for a native network a peer host that is not on-link (api.ErrConflict, see native.go);
// nothing is stored then.
func (a *Agent) CreateNetwork(ctx context.Context, req api.NetworkRequest) (api.Network, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, err := a.parseNetwork(req)
	if err != nil {
		return api.Network{}, err
	}
	if err := a.checkNativeNetwork(ctx, n); err != nil {
		return api.Network{}, err
	}
	for range createNetworkAttempts {
		all, err := a.networks(ctx)
		if err != nil {
			return api.Network{}, err
		}
		if err := allocateNetwork(&n, req.VNI == 0, all); err != nil {
			return api.Network{}, err
		}
		err = a.store.CreateNetwork(ctx, n)
		if err == nil {
			a.log.Info("network created", "name", n.Name, "id", n.ID, "subnet", n.Subnet, "vni", n.VNI)
			return n, a.syncNetworks(ctx)
		}
		if !errors.Is(err, store.ErrExists) {
			return api.Network{}, fmt.Errorf("store network %s: %w", n.Name, err)
		}
		// Another node took the name, id or VNI meanwhile: check again against the new list.
	}
	return api.Network{}, conflict("network %s: its datapath id or VNI was taken by other nodes %d times in a row; try again", n.Name, createNetworkAttempts)
}

// parseNetwork checks req's fields on their own (not against other networks).
func (a *Agent) parseNetwork(req api.NetworkRequest) (api.Network, error) {
	if !nameRE.MatchString(req.Name) {
		return api.Network{}, invalid("invalid network name %q: want 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit", req.Name)
	}
	if req.Name == api.DefaultNetwork {
		return api.Network{}, conflict("network %s exists: it is the network of the agent's --cluster-cidr and --vni", req.Name)
	}
	subnet, err := parseCIDR("subnet", req.Subnet)
	if err != nil {
		return api.Network{}, err
	}
	if subnet.Bits() < 8 || subnet.Bits() > 30 {
		return api.Network{}, invalid("subnet %s: want a prefix length of /8 to /30", subnet)
	}
	if subnet.Contains(a.node.UnderlayIP) {
		return api.Network{}, invalid("subnet %s contains this node's underlay IP %s", subnet, a.node.UnderlayIP)
	}
	sliceBits := cmp.Or(req.NodePrefixLen, api.DefaultNodePrefixLen(subnet))
	if sliceBits < subnet.Bits() || sliceBits > api.MaxNodePrefixLen || sliceBits-subnet.Bits() > maxSliceBits {
		return api.Network{}, invalid("invalid node prefix length /%d for subnet %s: want /%d to /%d (at most %d slices, one per node)",
			sliceBits, subnet, subnet.Bits(), min(subnet.Bits()+maxSliceBits, api.MaxNodePrefixLen), 1<<maxSliceBits)
	}
	if req.VNI > maxVNI {
		return api.Network{}, invalid("invalid VNI %d: want 1..%d (24 bits)", req.VNI, maxVNI)
	}
	mode := cmp.Or(req.Mode, api.NetworkModeVXLAN)
	switch mode {
	case api.NetworkModeVXLAN, api.NetworkModeNative:
	default:
		return api.Network{}, invalid("invalid mode %q: want vxlan or native", req.Mode)
	}
	action := api.PolicyAction(req.DefaultPolicy)
	if action != "" && action != api.ActionAllow && action != api.ActionDeny {
		return api.Network{}, invalid("invalid default policy %q: want allow or deny", req.DefaultPolicy)
	}
	if req.MTU != 0 && (req.MTU < endpoint.MinMTU || req.MTU > a.node.MTU) {
		return api.Network{}, invalid("invalid MTU %d: want %d..%d (this node's container MTU)", req.MTU, endpoint.MinMTU, a.node.MTU)
	}
	n := api.Network{
		Name: req.Name, Subnet: subnet, VNI: req.VNI, Mode: mode, DefaultPolicy: action,
		HostNAT: a.cfg.HostNAT, HostPorts: true, Internal: req.Internal, MTU: req.MTU, NodePrefixLen: sliceBits,
	}
	if req.HostNAT != nil {
		n.HostNAT = *req.HostNAT
	}
	if req.HostPorts != nil {
		n.HostPorts = *req.HostPorts
	}
	if n.Internal { // nothing outside the network: no masquerade, no published ports
		n.HostNAT, n.HostPorts = false, false
	}
	return n, nil
}

// allocateNetwork checks n against the existing networks all (name, subnet, VNI) and gives it
// the lowest free datapath id and, when pickVNI, the lowest free VNI from FirstNetworkVNI.
func allocateNetwork(n *api.Network, pickVNI bool, all []api.Network) error {
	ids, vnis := map[uint16]bool{}, map[uint32]bool{}
	for _, o := range all {
		switch {
		case o.Name == n.Name:
			return conflict("network %s already exists (subnet %s, VNI %d)", n.Name, o.Subnet, o.VNI)
		case o.Subnet.Overlaps(n.Subnet):
			return conflict("subnet %s overlaps network %s (%s)", n.Subnet, o.Name, o.Subnet)
		case !pickVNI && o.VNI == n.VNI:
			return conflict("VNI %d is in use by network %s", n.VNI, o.Name)
		}
		ids[o.ID], vnis[o.VNI] = true, true
	}
	n.ID = 0
	for id := uint16(1); id < MaxNetworks && n.ID == 0; id++ {
		if !ids[id] {
			n.ID = id
		}
	}
	if n.ID == 0 {
		return full("network %s: the cluster has %d networks, the most it holds", n.Name, MaxNetworks)
	}
	if pickVNI {
		n.VNI = FirstNetworkVNI
		for vnis[n.VNI] {
			n.VNI++
		}
	}
	return nil
}

// DeleteNetwork removes a network no endpoint of any node is attached to. Refusals:
// api.ErrNotFound, api.ErrConflict (the default network, or endpoints attached, named).
func (a *Agent) DeleteNetwork(ctx context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, err := a.network(ctx, name)
	if err != nil {
		return err
	}
	if n.Name == api.DefaultNetwork {
		return conflict("network %s cannot be removed: it is the network of the agent's --cluster-cidr and --vni", name)
	}
	members, err := a.networkMembers(ctx)
	if err != nil {
		return err
	}
	if eps := members[name]; len(eps) > 0 {
		return conflict("network %s has %d endpoints attached (%s): disconnect or delete them first", name, len(eps), abbrevList(eps, 5))
	}
	if err := a.checkNetworkUnused(ctx, name); err != nil {
		return err
	}
	if err := a.store.DeleteNetwork(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("network %s: %v", name, err)
		}
		return fmt.Errorf("delete network %s: %w", name, err)
	}
	a.log.Info("network deleted", "name", name, "id", n.ID, "vni", n.VNI)
	return a.syncNetworks(ctx)
}

// abbrevList joins the first max names with ", ", then "..." if there are more.
func abbrevList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + ", ..."
}

// networkField is the Endpoint.Network value of nw: empty for the default network, so
// endpoint records stay as they were before networks existed.
func networkField(nw api.Network) string {
	if nw.Name == api.DefaultNetwork {
		return ""
	}
	return nw.Name
}

// checkNetworkIPFree refuses ip when an endpoint of another node has it: a network other than
// the default one has no per-node pod CIDR, so its addresses are checked cluster-wide.
func (a *Agent) checkNetworkIPFree(ctx context.Context, ip netip.Addr, nw api.Network) error {
	eps, err := a.store.ClusterEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.IP == ip {
			return conflict("IP %s is already used by endpoint %s (network %s)", ip, e.Name, nw.Name)
		}
	}
	return nil
}

// checkHostPorts refuses (api.ErrConflict) published ports for an endpoint whose network was
// created with --host-ports=false (Rancher's network hostPorts).
func (a *Agent) checkHostPorts(ctx context.Context, ep api.Endpoint) error {
	nw, err := a.network(ctx, ep.Network)
	if err != nil {
		return err
	}
	if !nw.HostPorts {
		return conflict("endpoint %s: network %s allows no published ports (--host-ports=false)", ep.Name, nw.Name)
	}
	return nil
}
