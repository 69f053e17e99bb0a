package store

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ebpfnet/ebpfnet/api"
)

// etcdServices holds services/<name>: api.Service JSON, cluster-wide.
const etcdServices = "services/"

// Services lists the cluster's services ordered by name.
func (s *Etcd) Services(ctx context.Context) ([]api.Service, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix+etcdServices, clientv3.WithPrefix())
	if err != nil {
		return nil, s.wrap("list services", err)
	}
	return decodeJSON(make([]api.Service, 0, len(resp.Kvs)), resp.Kvs)
}

// CreateService stores services/<name> only if no service has the name (one transaction,
// so two nodes creating the same name race safely); ErrExists (wrapped) when taken.
func (s *Etcd) CreateService(ctx context.Context, svc api.Service) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	key := s.prefix + etcdServices + svc.Name
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).Commit()
	if err != nil {
		return s.wrap("create service", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("service %q: %w", svc.Name, ErrExists)
	}
	return nil
}

// DeleteService removes services/<name>; ErrNotFound (wrapped) if absent.
func (s *Etcd) DeleteService(ctx context.Context, name string) error {
	return s.deleteKey(ctx, s.prefix+etcdServices+name, "service", name)
}
