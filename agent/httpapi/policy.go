package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// policyRoutes adds the policy and monitor API:
//
//	GET /v1/policy                       PUT /v1/policy (YAML or JSON document, all or nothing)
//	POST /v1/policy/rules (policy.Rule)  DELETE /v1/policy/rules/{n}
//	PUT /v1/policy/default ({"action": "allow"|"deny"})
//	GET /v1/policy/explain?from=NAME&to=NAME&port=5432/tcp
//	GET /v1/monitor (newline-delimited api.DropEvent JSON, streamed until the client leaves)
func policyRoutes(mux *http.ServeMux, a Operations) {
	answer(mux, "GET /v1/policy", http.StatusOK, a.PolicyState)
	mux.HandleFunc("PUT /v1/policy", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
		if err != nil {
			reply(w, http.StatusOK, nil, api.Errorf(api.ErrInvalid, "read policy: %v", err))
			return
		}
		p, err := a.ApplyPolicy(requestContext(r), data)
		reply(w, http.StatusOK, p, err)
	})
	answerJSON(mux, "POST /v1/policy/rules", http.StatusCreated, a.AddPolicyRule)
	mux.HandleFunc("DELETE /v1/policy/rules/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			reply(w, http.StatusOK, nil, api.Errorf(api.ErrInvalid, "rule %q: want its number from `ebpfnet policy list`", r.PathValue("n")))
			return
		}
		p, err := a.DeletePolicyRule(requestContext(r), n)
		reply(w, http.StatusOK, p, err)
	})
	answerJSON(mux, "PUT /v1/policy/default", http.StatusOK, func(ctx context.Context, req struct {
		Action string `json:"action"`
	}) (policy.Policy, error) {
		return a.SetPolicyDefault(ctx, req.Action)
	})
	mux.HandleFunc("GET /v1/policy/explain", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		e, err := a.ExplainPolicy(r.Context(), q.Get("from"), q.Get("to"), q.Get("port"))
		reply(w, http.StatusOK, e, err)
	})
	mux.HandleFunc("GET /v1/monitor", func(w http.ResponseWriter, r *http.Request) { serveMonitor(w, r, a) })
}

// serveMonitor streams drop events as JSON lines until the client disconnects.
func serveMonitor(w http.ResponseWriter, r *http.Request, a Operations) {
	ch, unsubscribe := a.SubscribeDrops()
	defer unsubscribe()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			if enc.Encode(e) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}
