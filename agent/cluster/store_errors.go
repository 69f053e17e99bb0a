package cluster

// Store errors as API refusals.

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
	"github.com/ebpfnet/ebpfnet/store"
)

// storeErrors is the etcd store as the agent and membership use it: an unreachable store is an
// api.ErrUnavailable refusal (the API answers 503) with a message saying so.
type storeErrors struct{ *store.Etcd }

// refused is a store read's result with its error as UnavailableError makes it.
func refused[T any](v T, err error) (T, error) { return v, UnavailableError(err) }

func (s storeErrors) Endpoints(ctx context.Context) ([]api.Endpoint, error) {
	return refused(s.Etcd.Endpoints(ctx))
}

func (s storeErrors) PutEndpoint(ctx context.Context, ep api.Endpoint) error {
	return UnavailableError(s.Etcd.PutEndpoint(ctx, ep))
}

func (s storeErrors) DeleteEndpoint(ctx context.Context, name string) error {
	return UnavailableError(s.Etcd.DeleteEndpoint(ctx, name))
}

func (s storeErrors) Peers(ctx context.Context) ([]api.Peer, error) {
	return refused(s.Etcd.Peers(ctx))
}

func (s storeErrors) PutPeer(ctx context.Context, p api.Peer) error {
	return UnavailableError(s.Etcd.PutPeer(ctx, p))
}

func (s storeErrors) Identity(ctx context.Context, labelsKey string) (uint32, error) {
	return refused(s.Etcd.Identity(ctx, labelsKey))
}

func (s storeErrors) ClusterEndpoints(ctx context.Context) ([]api.Endpoint, error) {
	return refused(s.Etcd.ClusterEndpoints(ctx))
}

func (s storeErrors) Identities(ctx context.Context) (map[string]uint32, error) {
	return refused(s.Etcd.Identities(ctx))
}

func (s storeErrors) DeleteIdentity(ctx context.Context, labelsKey string, id uint32) error {
	return UnavailableError(s.Etcd.DeleteIdentity(ctx, labelsKey, id))
}

func (s storeErrors) Policy(ctx context.Context) (policy.Policy, error) {
	return refused(s.Etcd.Policy(ctx))
}

func (s storeErrors) PutPolicy(ctx context.Context, p policy.Policy) error {
	return UnavailableError(s.Etcd.PutPolicy(ctx, p))
}

func (s storeErrors) Networks(ctx context.Context) ([]api.Network, error) {
	return refused(s.Etcd.Networks(ctx))
}

func (s storeErrors) CreateNetwork(ctx context.Context, n api.Network) error {
	return UnavailableError(s.Etcd.CreateNetwork(ctx, n))
}

func (s storeErrors) DeleteNetwork(ctx context.Context, name string) error {
	return UnavailableError(s.Etcd.DeleteNetwork(ctx, name))
}

func (s storeErrors) NetworkSlice(ctx context.Context, subnet netip.Prefix, bits int, hint netip.Addr, grace time.Duration) (netip.Prefix, error) {
	return refused(s.Etcd.NetworkSlice(ctx, subnet, bits, hint, grace))
}

func (s storeErrors) NetworkSlices(ctx context.Context) ([]api.NetworkSlice, error) {
	return refused(s.Etcd.NetworkSlices(ctx))
}

// storeUnavailable is an api.ErrUnavailable refusal that still matches store.ErrUnavailable.
type storeUnavailable struct {
	msg   string
	cause error
}

func (e *storeUnavailable) Error() string   { return e.msg }
func (e *storeUnavailable) Unwrap() []error { return []error{api.ErrUnavailable, e.cause} }

// UnavailableError turns a store.ErrUnavailable error into an api.ErrUnavailable refusal
// (the API answers 503) that still matches store.ErrUnavailable; others pass unchanged.
func UnavailableError(err error) error {
	if err == nil || !errors.Is(err, store.ErrUnavailable) {
		return err
	}
	msg := err.Error() + " (the datapath keeps forwarding with its current maps; changes are refused until the store is back)"
	return &storeUnavailable{msg: msg, cause: err}
}
