// Package httpapi is the agent's local API: JSON over the agent's unix socket (the documents of
// package api), served for any implementation of Operations. It alone maps the operations'
// errors by meaning (api.ErrInvalid, ...) to HTTP status codes.
package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/policy"
)

// Operations are the agent's domain operations the API serves; *agent.Agent implements them.
// Their errors wrap the api.Err* kinds (see statusOf).
type Operations interface {
	Status() (api.Status, error)
	Endpoints() ([]api.Endpoint, error)
	AddEndpoint(api.EndpointRequest) (api.Endpoint, error)
	DeleteEndpoint(name string) error
	Nodes() ([]api.NodeInfo, error)
	Peers() ([]api.Peer, error)
	AddPeer(api.PeerRequest) (api.Peer, error)
	SetPeerKey(api.PeerKeyRequest) ([]api.Peer, error)
	RotateWireGuardKey() (api.WireGuardStatus, error)
	DeletePeer(cidr string) error
	PublishedPorts() (map[string][]api.PortMapping, error)
	Publish(api.PublishRequest) (api.PortMapping, error)
	Unpublish(name string, req api.PublishRequest) error
	NATEntries() ([]api.NATEntry, error)
	PolicyState() (api.PolicyState, error)
	ApplyPolicy(document []byte) (policy.Policy, error)
	AddPolicyRule(policy.Rule) (policy.Policy, error)
	DeletePolicyRule(n int) (policy.Policy, error)
	SetPolicyDefault(action string) (policy.Policy, error)
	ExplainPolicy(from, to, port string) (api.Explanation, error)
	// SubscribeDrops returns a channel of drop events and the function that ends the
	// subscription.
	SubscribeDrops() (<-chan api.DropEvent, func())
}

// Handler serves ops as the local API (JSON over the unix socket):
//
//	GET /v1/status
//	GET /v1/endpoints      POST /v1/endpoints (api.EndpointRequest)   DELETE /v1/endpoints/{name}
//	GET /v1/peers          POST /v1/peers (api.PeerRequest)           DELETE /v1/peers?cidr=CIDR
//	GET /v1/nodes          (etcd store: cluster nodes, []api.NodeInfo)
//	GET /v1/ports          POST /v1/ports (api.PublishRequest)        DELETE /v1/ports (api.PublishRequest)
//	GET /v1/nat
//
// Errors answer with api.Error and the status statusOf gives them.
func Handler(a Operations) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.Status()
		reply(w, http.StatusOK, st, err)
	})
	mux.HandleFunc("GET /v1/endpoints", func(w http.ResponseWriter, r *http.Request) {
		eps, err := a.Endpoints()
		reply(w, http.StatusOK, eps, err)
	})
	mux.HandleFunc("POST /v1/endpoints", func(w http.ResponseWriter, r *http.Request) {
		var req api.EndpointRequest
		if decode(w, r, &req) {
			ep, err := a.AddEndpoint(req)
			reply(w, http.StatusCreated, ep, err)
		}
	})
	mux.HandleFunc("DELETE /v1/endpoints/{name}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, a.DeleteEndpoint(r.PathValue("name")))
	})
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		nodes, err := a.Nodes()
		reply(w, http.StatusOK, nodes, err)
	})
	mux.HandleFunc("GET /v1/peers", func(w http.ResponseWriter, r *http.Request) {
		ps, err := a.Peers()
		reply(w, http.StatusOK, ps, err)
	})
	mux.HandleFunc("POST /v1/peers", func(w http.ResponseWriter, r *http.Request) {
		var req api.PeerRequest
		if decode(w, r, &req) {
			p, err := a.AddPeer(req)
			reply(w, http.StatusCreated, p, err)
		}
	})
	mux.HandleFunc("PUT /v1/peers/key", func(w http.ResponseWriter, r *http.Request) {
		var req api.PeerKeyRequest
		if decode(w, r, &req) {
			ps, err := a.SetPeerKey(req)
			reply(w, http.StatusOK, ps, err)
		}
	})
	mux.HandleFunc("POST /v1/wireguard/rotate-key", func(w http.ResponseWriter, r *http.Request) {
		st, err := a.RotateWireGuardKey()
		reply(w, http.StatusOK, st, err)
	})
	mux.HandleFunc("DELETE /v1/peers", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, a.DeletePeer(r.URL.Query().Get("cidr")))
	})
	mux.HandleFunc("GET /v1/ports", func(w http.ResponseWriter, r *http.Request) {
		ports, err := a.PublishedPorts()
		reply(w, http.StatusOK, ports, err)
	})
	mux.HandleFunc("POST /v1/ports", func(w http.ResponseWriter, r *http.Request) {
		var req api.PublishRequest
		if decode(w, r, &req) {
			m, err := a.Publish(req)
			reply(w, http.StatusCreated, m, err)
		}
	})
	mux.HandleFunc("DELETE /v1/ports", func(w http.ResponseWriter, r *http.Request) {
		var req api.PublishRequest
		if decode(w, r, &req) {
			reply(w, http.StatusNoContent, nil, a.Unpublish(req.Endpoint, req))
		}
	})
	policyRoutes(mux, a)
	mux.HandleFunc("GET /v1/nat", func(w http.ResponseWriter, r *http.Request) {
		entries, err := a.NATEntries()
		reply(w, http.StatusOK, entries, err)
	})
	return mux
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
