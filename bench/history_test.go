package bench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQuartiles(t *testing.T) {
	s := &Series{Values: []float64{7, 1, 3, 5, 9}}
	s.summarize()
	require.Equal(t, 5.0, s.Median)
	require.Equal(t, 3.0, s.Q1)
	require.Equal(t, 7.0, s.Q3)
	require.InDelta(t, 80.0, s.IQRPct, 1e-9)
	s = &Series{Values: []float64{10, 20, 30, 40}}
	s.summarize()
	require.InDelta(t, 17.5, s.Q1, 1e-9)
	require.InDelta(t, 32.5, s.Q3, 1e-9)
}

// TestCompareFlagsRegressions: a median that left the previous run's range in the bad
// direction is a regression; one inside the noise is not flagged; lower-is-better measures
// count upwards as worse.
func TestCompareFlagsRegressions(t *testing.T) {
	ms := Measures([]int{1})
	prev, now := NewResults(ms), NewResults(ms)
	for _, v := range []float64{18, 19, 20} {
		prev.Add(MTCPSame, TopoEbpfnet, v)
		prev.Add(MTCPSame, TopoKernel, v)
		prev.Add(MRRSameP50, TopoEbpfnet, v)
	}
	for _, v := range []float64{14, 15, 16} { // ebpfnet fell beyond both ranges
		now.Add(MTCPSame, TopoEbpfnet, v)
	}
	for _, v := range []float64{17.5, 19.5, 21} { // kernel moved within the noise
		now.Add(MTCPSame, TopoKernel, v)
	}
	for _, v := range []float64{25, 26, 27} { // a latency rose
		now.Add(MRRSameP50, TopoEbpfnet, v)
	}
	byKey := map[string]Change{}
	for _, c := range Compare(prev, now) {
		byKey[c.Measure+"/"+c.Topo] = c
	}
	require.Len(t, byKey, 3)
	require.True(t, byKey["tcp-same/ebpfnet"].Worse && byKey["tcp-same/ebpfnet"].Outside)
	require.InDelta(t, -21.05, byKey["tcp-same/ebpfnet"].Pct, 0.01)
	require.False(t, byKey["tcp-same/kernel"].Outside)
	require.True(t, byKey["rr-same-p50/ebpfnet"].Worse && byKey["rr-same-p50/ebpfnet"].Outside)
}

// TestHistoryPreviousRun: runs are kept one file each, and the previous complete run of the
// same mode is found, not the current one, an incomplete one or another mode's.
func TestHistoryPreviousRun(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	write := func(at time.Duration, mode string, complete bool) string {
		res := NewResults(Measures([]int{1}))
		res.Add(MTCPSame, TopoEbpfnet, float64(at/time.Minute))
		p, err := WriteHistory(dir, Report{Started: start.Add(at), Config: Config{Mode: mode}, Results: res, Complete: complete})
		require.NoError(t, err)
		return p
	}
	first := write(0, "full", true)
	write(time.Minute, "smoke", true)
	write(2*time.Minute, "full", false)
	cur := write(3*time.Minute, "full", true)
	require.Equal(t, "20261130T030300Z-full.json", filepath.Base(cur))
	rep, path, ok := PreviousRun(dir, "full", cur)
	require.True(t, ok)
	require.Equal(t, first, path)
	require.Equal(t, 0.0, rep.Results.Get(MTCPSame, TopoEbpfnet).Median)
	_, _, ok = PreviousRun(t.TempDir(), "full", "")
	require.False(t, ok)
}
