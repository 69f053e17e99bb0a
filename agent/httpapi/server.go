// Package httpapi is the agent's local API: JSON over the agent's unix socket (the documents of
// package api), served for any implementation of Operations. It alone maps the operations'
// errors by meaning (api.ErrInvalid, ...) to HTTP status codes.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// Operations are the agent's domain operations the API serves; *agent.Agent implements them.
// Their errors wrap the api.Err* kinds (see statusOf).
type Operations interface {
	Status(context.Context) (api.Status, error)
	Endpoints(context.Context) ([]api.Endpoint, error)
	AddEndpoint(context.Context, api.EndpointRequest) (api.Endpoint, error)
	DeleteEndpoint(ctx context.Context, name string) error
	Nodes(context.Context) ([]api.NodeInfo, error)
	Peers(context.Context) ([]api.Peer, error)
	AddPeer(context.Context, api.PeerRequest) (api.Peer, error)
	SetPeerKey(context.Context, api.PeerKeyRequest) ([]api.Peer, error)
	RotateWireGuardKey(context.Context) (api.WireGuardStatus, error)
	DeletePeer(ctx context.Context, cidr string) error
	PublishedPorts(context.Context) (map[string][]api.PortMapping, error)
	Publish(context.Context, api.PublishRequest) (api.PortMapping, error)
	Unpublish(ctx context.Context, name string, req api.PublishRequest) error
	NATEntries() ([]api.NATEntry, error)
	PolicyState(context.Context) (api.PolicyState, error)
	ApplyPolicy(ctx context.Context, document []byte) (policy.Policy, error)
	AddPolicyRule(context.Context, policy.Rule) (policy.Policy, error)
	DeletePolicyRule(ctx context.Context, n int) (policy.Policy, error)
	SetPolicyDefault(ctx context.Context, action string) (policy.Policy, error)
	ExplainPolicy(ctx context.Context, from, to, port string) (api.Explanation, error)
	// SubscribeDrops returns a channel of drop events and the function that ends the
	// subscription.
	SubscribeDrops() (<-chan api.DropEvent, func())
	networkOperations
	ServiceOperations
	PrefilterOperations
}

// Handler serves ops as the local API (JSON over the unix socket):
//
//	GET /v1/status
//	GET /v1/endpoints      POST /v1/endpoints (api.EndpointRequest)   DELETE /v1/endpoints/{name}
//	GET /v1/peers          POST /v1/peers (api.PeerRequest)           DELETE /v1/peers?cidr=CIDR
//	GET /v1/nodes          (etcd store: cluster nodes, []api.NodeInfo)
//	GET /v1/ports          POST /v1/ports (api.PublishRequest)        DELETE /v1/ports (api.PublishRequest)
//	GET /v1/nat
//	GET /v1/networks ... (networkRoutes)
//
// Errors answer with api.Error and the status statusOf gives them.
func Handler(a Operations) http.Handler {
	mux := http.NewServeMux()
	answer(mux, "GET /v1/status", http.StatusOK, a.Status)
	answer(mux, "GET /v1/endpoints", http.StatusOK, a.Endpoints)
	answerJSON(mux, "POST /v1/endpoints", http.StatusCreated, a.AddEndpoint)
	deleteNamed(mux, "DELETE /v1/endpoints/{name}", a.DeleteEndpoint)
	answer(mux, "GET /v1/nodes", http.StatusOK, a.Nodes)
	answer(mux, "GET /v1/peers", http.StatusOK, a.Peers)
	answerJSON(mux, "POST /v1/peers", http.StatusCreated, a.AddPeer)
	answerJSON(mux, "PUT /v1/peers/key", http.StatusOK, a.SetPeerKey)
	answer(mux, "POST /v1/wireguard/rotate-key", http.StatusOK, a.RotateWireGuardKey)
	mux.HandleFunc("DELETE /v1/peers", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, a.DeletePeer(requestContext(r), r.URL.Query().Get("cidr")))
	})
	answer(mux, "GET /v1/ports", http.StatusOK, a.PublishedPorts)
	answerJSON(mux, "POST /v1/ports", http.StatusCreated, a.Publish)
	answerJSON(mux, "DELETE /v1/ports", http.StatusNoContent, func(ctx context.Context, req api.PublishRequest) (any, error) {
		return nil, a.Unpublish(ctx, req.Endpoint, req)
	})
	policyRoutes(mux, a)
	networkRoutes(mux, a)
	serviceRoutes(mux, a)
	prefilterRoutes(mux, a)
	answer(mux, "GET /v1/nat", http.StatusOK, func(context.Context) ([]api.NATEntry, error) { return a.NATEntries() })
	return mux
}

// requestContext is the context an operation of r runs under: r's own for a read (GET), so a
// client that leaves cancels it; for a mutating request r's values without its cancellation
// (context.WithoutCancel), so a change the client gave up on (the CNI plugin's timeout) still
// completes as a whole rather than half-way, and the client's retry finds it done. Deadlines
// derived from it later (the etcd per-request timeout) still apply.
func requestContext(r *http.Request) context.Context {
	if r.Method == http.MethodGet {
		return r.Context()
	}
	return context.WithoutCancel(r.Context())
}

// answer serves pattern with op under requestContext: its result with status ok, or its error.
func answer[T any](mux *http.ServeMux, pattern string, ok int, op func(context.Context) (T, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := op(requestContext(r))
		reply(w, ok, v, err)
	})
}

// answerNamed serves pattern with op on the request's {name} path value: its result with
// status ok, or its error. op runs under requestContext.
func answerNamed[T any](mux *http.ServeMux, pattern string, ok int, op func(context.Context, string) (T, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := op(requestContext(r), r.PathValue("name"))
		reply(w, ok, v, err)
	})
}

// deleteNamed serves pattern with del on the request's {name} path value: 204, or its error.
func deleteNamed(mux *http.ServeMux, pattern string, del func(context.Context, string) error) {
	answerNamed(mux, pattern, http.StatusNoContent, func(ctx context.Context, name string) (any, error) {
		return nil, del(ctx, name)
	})
}

// answerJSON serves pattern with op on the request's JSON body (400 when malformed): its
// result with status ok, or its error. op runs under requestContext.
func answerJSON[Req, T any](mux *http.ServeMux, pattern string, ok int, op func(context.Context, Req) (T, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if decode(w, r, &req) {
			v, err := op(requestContext(r), req)
			reply(w, ok, v, err)
		}
	})
}

// decode reads a JSON request body; on failure it answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, api.Error{Error: "malformed request: " + err.Error()})
		return false
	}
	return true
}

// reply writes err as api.Error with its status, else v with status ok.
func reply(w http.ResponseWriter, ok int, v any, err error) {
	if err != nil {
		writeJSON(w, statusOf(err), api.Error{Error: err.Error()})
		return
	}
	if ok == http.StatusNoContent {
		w.WriteHeader(ok)
		return
	}
	writeJSON(w, ok, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusOf maps an error to its HTTP status by its kind: api.ErrInvalid 400, api.ErrNotFound
// 404, api.ErrConflict 409, api.ErrFull 507, api.ErrUnavailable 503, api.ErrUnsupported 501,
// anything else 500.
func statusOf(err error) int {
	for _, k := range []struct {
		kind   error
		status int
	}{
		{api.ErrInvalid, http.StatusBadRequest},
		{api.ErrNotFound, http.StatusNotFound},
		{api.ErrConflict, http.StatusConflict},
		{api.ErrFull, http.StatusInsufficientStorage},
		{api.ErrUnavailable, http.StatusServiceUnavailable},
		{api.ErrUnsupported, http.StatusNotImplemented},
	} {
		if errors.Is(err, k.kind) {
			return k.status
		}
	}
	return http.StatusInternalServerError
}
