package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ebpfnet/ebpfnet/api"
)

// Status warns about a map only above 90% full.
func TestFillLine(t *testing.T) {
	for _, tc := range []struct {
		fill api.MapFill
		want string
	}{
		{api.MapFill{Map: "ct", Entries: 0, Capacity: 262144}, "0 / 262144 entries (0.0%)"},
		{api.MapFill{Map: "ct", Entries: 235929, Capacity: 262144}, "235929 / 262144 entries (90.0%)"},
		{api.MapFill{Map: "ct", Entries: 235930, Capacity: 262144}, "235930 / 262144 entries (90.0%) WARNING: over 90% full"},
		{api.MapFill{Map: "peers", Entries: 4096, Capacity: 4096}, "4096 / 4096 entries (100.0%) WARNING: over 90% full"},
	} {
		require.Equal(t, tc.want, fillLine(tc.fill))
	}
}
