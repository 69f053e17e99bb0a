package agent

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/store"
)

// countingStore counts Services reads.
type countingStore struct {
	store.Store
	reads int
}

func (s *countingStore) Services(ctx context.Context) ([]api.Service, error) {
	s.reads++
	return s.Store.Services(ctx)
}

// TestServiceHealthIdle: with no health-checked service and no endpoint marked, serviceHealth
// reads the store once and then skips its reads until reconcileServices counts a
// health-checked service (healthEpoch); then it reads again.
func TestServiceHealthIdle(t *testing.T) {
	a := testAgent(t, domainMaps{}, web1)
	st := &countingStore{Store: a.store}
	a.store = st
	for range 3 {
		a.serviceHealth(t.Context(), time.Now())
	}
	require.Equal(t, 1, st.reads, "idle after the first pass")
	a.healthEpoch.Add(1) // reconcileServices saw a health-checked service
	a.serviceHealth(t.Context(), time.Now())
	a.serviceHealth(t.Context(), time.Now())
	require.Equal(t, 2, st.reads, "one pass reads again and finds none, the next skips")
}
