package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The cache walks once per TTL however often it is asked, and never caches a failed walk.
func TestCachedWalker(t *testing.T) {
	walks := 0
	fail := false
	c := NewCachedWalker(WalkerFunc(func() (Snapshot, error) {
		if fail {
			return Snapshot{}, errors.New("walk failed")
		}
		walks++
		return Snapshot{Conntrack: map[string]int{"policy": walks}}, nil
	}), time.Second)
	clock := time.Unix(1000, 0)
	c.now = func() time.Time { return clock }

	for range 5 {
		s, err := c.Walk()
		require.NoError(t, err)
		require.Equal(t, 1, s.Conntrack["policy"])
	}
	require.Equal(t, 1, walks)

	clock = clock.Add(999 * time.Millisecond)
	_, err := c.Walk()
	require.NoError(t, err)
	require.Equal(t, 1, walks, "walked again inside the TTL")

	clock = clock.Add(time.Millisecond)
	s, err := c.Walk()
	require.NoError(t, err)
	require.Equal(t, 2, walks)
	require.Equal(t, 2, s.Conntrack["policy"])
	require.Equal(t, clock, s.Taken)

	clock = clock.Add(time.Second)
	fail = true
	_, err = c.Walk()
	require.Error(t, err)
	fail = false
	s, err = c.Walk()
	require.NoError(t, err)
	require.Equal(t, 3, s.Conntrack["policy"], "a failed walk was cached")
}
