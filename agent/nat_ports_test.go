package agent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNATPortsOutside: the default masquerade range never meets the host's ephemeral range.
func TestNATPortsOutside(t *testing.T) {
	for _, tc := range []struct {
		lo, hi int
		want   [2]uint16
		err    string
	}{
		{32768, 60999, [2]uint16{1024, 32767}, ""},    // the kernel's default
		{1500, 60000, [2]uint16{60001, 65535}, ""},    // too little below: above
		{1024, 65535, [2]uint16{}, "fewer than 1024"}, // nothing outside
	} {
		got, err := natPortsOutside(tc.lo, tc.hi)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	ports, err := defaultNATPorts()
	require.NoError(t, err)
	require.Less(t, ports[0], ports[1])
}
