package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/maps"
)

// datapathNetwork is n as the networks maps hold it.
func datapathNetwork(n api.Network) maps.Network {
	return maps.Network{
		ID: n.ID, Subnet: n.Subnet, VNI: n.VNI, Internal: n.Internal, HostNAT: n.HostNAT,
		HostPorts: n.HostPorts, Native: n.Mode == api.NetworkModeNative,
	}
}

// syncNetworks makes the networks maps hold every network of the store by mark and sweep:
// the wanted entries are written, then stale subnet and VNI entries are deleted and stale
// ids cleared. Run at start, on network create and rm, and before an endpoint joins a
// network (so a network created on another node is known here first). Caller holds a.mu.
func (a *Agent) syncNetworks(ctx context.Context) error {
	all, err := a.networks(ctx)
	if err != nil {
		return err
	}
	ids, subnets, vnis := map[uint16]bool{}, map[netip.Prefix]uint16{}, map[uint32]uint16{}
	for _, n := range all {
		if err := a.dmaps.networks.Put(datapathNetwork(n)); err != nil {
			if errors.Is(err, maps.ErrFull) {
				return full("network %s: %v", n.Name, err)
			}
			return fmt.Errorf("program network %s: %w", n.Name, err)
		}
		ids[n.ID] = true
		if n.ID != 0 {
			subnets[n.Subnet], vnis[n.VNI] = n.ID, n.ID
		}
	}
	have, err := a.dmaps.networks.Entries()
	if err != nil {
		return err
	}
	for p, id := range have.Subnets {
		if want, ok := subnets[p]; !ok || want != id {
			if err := a.dmaps.networks.DeleteSubnet(p); err != nil && !errors.Is(err, maps.ErrNotFound) {
				return err
			}
		}
	}
	for vni, id := range have.VNIs {
		if want, ok := vnis[vni]; !ok || want != id {
			if err := a.dmaps.networks.DeleteVNI(vni); err != nil && !errors.Is(err, maps.ErrNotFound) {
				return err
			}
		}
	}
	for _, id := range have.IDs {
		if !ids[id] {
			if err := a.dmaps.networks.Clear(id); err != nil {
				return err
			}
		}
	}
	return nil
}
