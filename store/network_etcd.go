package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ebpfnet/ebpfnet/api"
)

// Etcd keys of networks (cluster-wide), below the prefix:
//
//	networks/<name>       api.Network JSON
//	network-ids/<id>      the name of the network with datapath id <id> (uniqueness index)
//	network-vnis/<vni>    the name of the network with VNI <vni> (uniqueness index)
const (
	etcdNetworks    = "networks/"
	etcdNetworkIDs  = "network-ids/"
	etcdNetworkVNIs = "network-vnis/"
)

// networkKeys are n's record key and its two index keys.
func (s *Etcd) networkKeys(n api.Network) [3]string {
	return [3]string{
		s.prefix + etcdNetworks + n.Name,
		s.prefix + etcdNetworkIDs + strconv.Itoa(int(n.ID)),
		s.prefix + etcdNetworkVNIs + strconv.FormatUint(uint64(n.VNI), 10),
	}
}

// Networks lists every network of the cluster (networks/), ordered by name.
func (s *Etcd) Networks(ctx context.Context) ([]api.Network, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix+etcdNetworks, clientv3.WithPrefix())
	if err != nil {
		return nil, s.wrap("list networks", err)
	}
	return decodeJSON([]api.Network(nil), resp.Kvs)
}

// CreateNetwork writes n and its id and VNI index keys in one transaction that commits only if
// none of the three exists, so two nodes creating networks at once never share a name, an id
// or a VNI; else ErrExists (wrapped, naming the holder).
func (s *Etcd) CreateNetwork(ctx context.Context, n api.Network) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	keys := s.networkKeys(n)
	resp, err := s.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(keys[0]), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(keys[1]), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(keys[2]), "=", 0),
	).Then(
		clientv3.OpPut(keys[0], string(data)), clientv3.OpPut(keys[1], n.Name), clientv3.OpPut(keys[2], n.Name),
	).Else(
		clientv3.OpGet(keys[0]), clientv3.OpGet(keys[1]), clientv3.OpGet(keys[2]),
	).Commit()
	if err != nil {
		return s.wrap("create network "+n.Name, err)
	}
	if resp.Succeeded {
		return nil
	}
	what := [3]string{"network " + strconv.Quote(n.Name), fmt.Sprintf("network id %d", n.ID), fmt.Sprintf("VNI %d", n.VNI)}
	for i, r := range resp.Responses {
		if kvs := r.GetResponseRange().Kvs; len(kvs) > 0 {
			return fmt.Errorf("%s (network %s): %w", what[i], networkName(kvs[0].Value, i), ErrExists)
		}
	}
	return fmt.Errorf("%s: %w", what[0], ErrExists)
}

// networkName is the holder's name in the value of key i of networkKeys.
func networkName(v []byte, i int) string {
	if i > 0 {
		return string(v)
	}
	var n api.Network
	_ = json.Unmarshal(v, &n)
	return n.Name
}

// DeleteNetwork removes networks/<name>, its index keys and the nodes' slices of its subnet
// (cidrs/) in one transaction that commits only if the record is unchanged since it was
// read; ErrNotFound if absent.
func (s *Etcd) DeleteNetwork(ctx context.Context, name string) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	key := s.prefix + etcdNetworks + name
	for {
		resp, err := s.cli.Get(ctx, key)
		if err != nil {
			return s.wrap("read network "+name, err)
		}
		if len(resp.Kvs) == 0 {
			return fmt.Errorf("networks %q: %w", name, ErrNotFound)
		}
		var n api.Network
		if err := json.Unmarshal(resp.Kvs[0].Value, &n); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		keys := s.networkKeys(n)
		ops := []clientv3.Op{clientv3.OpDelete(keys[0]), clientv3.OpDelete(keys[1]), clientv3.OpDelete(keys[2])}
		snap, err := s.snapshot(ctx)
		if err != nil {
			return err
		}
		for p := range snap.records { // the nodes' slices go with the network
			if n.Subnet.Contains(p.Addr()) {
				ops = append(ops, clientv3.OpDelete(s.cidrKey(p)))
			}
		}
		txn, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).Then(ops...).Commit()
		if err != nil {
			return s.wrap("delete network "+name, err)
		}
		if txn.Succeeded {
			return nil
		}
	}
}
