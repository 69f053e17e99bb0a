package metrics

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// APIDuration is the histogram of the agent's API request durations in seconds, by route
// (the http.ServeMux pattern that served it, e.g. "GET /v1/status"; "unmatched" when none)
// and HTTP status code. Buckets: prometheus.DefBuckets (5 ms to 10 s); streaming requests
// (GET /v1/monitor) last as long as the stream.
func APIDuration() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ebpfnet_api_request_duration_seconds",
		Help:    "Duration of the agent's API requests, by route (mux pattern) and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "code"})
}

// routeKey is the context key of the *string where the route of a request is recorded.
type routeKey struct{}

// InstrumentAPI wraps mux and observes every request's duration in h (made by APIDuration).
// The route label is the pattern mux matched: http.ServeMux sets Request.Pattern on the
// request it serves, read after it returns, so label values stay bounded. promhttp's
// response delegator keeps http.Flusher for streaming routes.
func InstrumentAPI(h *prometheus.HistogramVec, mux http.Handler) http.Handler {
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if route, ok := r.Context().Value(routeKey{}).(*string); ok && r.Pattern != "" {
			*route = r.Pattern
		}
	})
	timed := promhttp.InstrumentHandlerDuration(h, record,
		promhttp.WithLabelFromCtx("route", func(ctx context.Context) string {
			return *ctx.Value(routeKey{}).(*string)
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		timed.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
	})
}

// Handler serves reg's metrics in the Prometheus text format (HTTP 500 with the error when a
// collector fails).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
