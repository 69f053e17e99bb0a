package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// Requests are observed by mux pattern and status code; unknown paths share one label value,
// so a client cannot grow the label set; streaming handlers can still flush.
func TestInstrumentAPI(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/endpoints/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, flushes := w.(http.Flusher)
		require.True(t, flushes)
		w.WriteHeader(http.StatusNotFound)
	})
	h := APIDuration()
	srv := InstrumentAPI(h, mux)
	for _, path := range []string{"/v1/endpoints/a", "/v1/endpoints/b", "/x1", "/x2"} {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	require.Equal(t, 2, testutil.CollectAndCount(h))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(h))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, m := range mfs[0].GetMetric() {
		labels := ""
		for _, l := range m.GetLabel() {
			labels += l.GetName() + "=" + l.GetValue() + " "
		}
		counts[labels] = m.GetHistogram().GetSampleCount()
	}
	require.Equal(t, map[string]uint64{
		"code=404 route=GET /v1/endpoints/{name} ": 2,
		"code=404 route=unmatched ":                2,
	}, counts)
}
