package cluster

import (
	"context"

	"github.com/ebpfnet/ebpfnet/api"
)

// The service records of the etcd store as API refusals (see storeErrors).

func (s storeErrors) Services(ctx context.Context) ([]api.Service, error) {
	return refused(s.Etcd.Services(ctx))
}

func (s storeErrors) CreateService(ctx context.Context, svc api.Service) error {
	return UnavailableError(s.Etcd.CreateService(ctx, svc))
}

func (s storeErrors) DeleteService(ctx context.Context, name string) error {
	return UnavailableError(s.Etcd.DeleteService(ctx, name))
}
