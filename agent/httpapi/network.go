package httpapi

import (
	"context"
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
)

// networkRoutes adds the network API:
//
//	GET /v1/networks            POST /v1/networks (api.NetworkRequest)
//	GET /v1/networks/{name}     DELETE /v1/networks/{name}
//	POST /v1/networks/{name}/slice   (this node's slice, allocated on first use)
//	POST /v1/endpoints/{name}/networks (api.ConnectRequest)   DELETE /v1/endpoints/{name}/networks/{network}
func networkRoutes(mux *http.ServeMux, a Operations) {
	answer(mux, "GET /v1/networks", http.StatusOK, a.Networks)
	answerJSON(mux, "POST /v1/networks", http.StatusCreated, a.CreateNetwork)
	answerNamed(mux, "GET /v1/networks/{name}", http.StatusOK, a.Network)
	answerNamed(mux, "POST /v1/networks/{name}/slice", http.StatusOK, a.NetworkSlice)
	deleteNamed(mux, "DELETE /v1/networks/{name}", a.DeleteNetwork)
	mux.HandleFunc("POST /v1/endpoints/{name}/networks", func(w http.ResponseWriter, r *http.Request) {
		var req api.ConnectRequest
		if decode(w, r, &req) {
			ep, err := a.ConnectEndpoint(requestContext(r), r.PathValue("name"), req)
			reply(w, http.StatusCreated, ep, err)
		}
	})
	mux.HandleFunc("DELETE /v1/endpoints/{name}/networks/{network}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, a.DisconnectEndpoint(requestContext(r), r.PathValue("name"), r.PathValue("network")))
	})
}

// networkOperations are the network operations of Operations.
type networkOperations interface {
	Networks(context.Context) ([]api.NetworkInfo, error)
	Network(ctx context.Context, name string) (api.NetworkInfo, error)
	CreateNetwork(context.Context, api.NetworkRequest) (api.Network, error)
	DeleteNetwork(ctx context.Context, name string) error
	NetworkSlice(ctx context.Context, name string) (api.NetworkSlice, error)
	ConnectEndpoint(ctx context.Context, name string, req api.ConnectRequest) (api.Endpoint, error)
	DisconnectEndpoint(ctx context.Context, name, network string) error
}
