package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

func TestUnavailableStoreIsErrUnavailable(t *testing.T) {
	cause := fmt.Errorf("list endpoints: %w at http://172.31.0.254:2379: context deadline exceeded", store.ErrUnavailable)
	err := fmt.Errorf("allocate identity: %w", UnavailableError(cause))
	require.ErrorIs(t, err, api.ErrUnavailable)
	require.ErrorIs(t, err, store.ErrUnavailable, "still recognisable as an outage")
	require.Contains(t, err.Error(), "cluster store (etcd) is unavailable at http://172.31.0.254:2379")
	require.Contains(t, err.Error(), "changes are refused until the store is back")

	other := errors.New("decode /ebpfnet/endpoints/h1/x: bad JSON")
	require.Same(t, other, UnavailableError(other), "other errors pass unchanged")
	require.NoError(t, UnavailableError(nil))
}

func TestStoreConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	require.Equal(t, api.StoreLocal, c.Kind)
	require.Equal(t, DefaultNodeTTL, c.NodeTTL)
	require.Equal(t, DefaultPodCIDRSize, c.PodCIDRSize)
	require.Equal(t, DefaultCIDRGrace, c.CIDRGrace)
	require.NotEmpty(t, c.Etcd.NodeName, "the host name")
}
