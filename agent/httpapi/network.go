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
func networkRoutes(mux *http.ServeMux, a Operations) {
	answer(mux, "GET /v1/networks", http.StatusOK, a.Networks)
	answerJSON(mux, "POST /v1/networks", http.StatusCreated, a.CreateNetwork)
	mux.HandleFunc("GET /v1/networks/{name}", func(w http.ResponseWriter, r *http.Request) {
		n, err := a.Network(requestContext(r), r.PathValue("name"))
		reply(w, http.StatusOK, n, err)
	})
	mux.HandleFunc("DELETE /v1/networks/{name}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNoContent, nil, a.DeleteNetwork(requestContext(r), r.PathValue("name")))
	})
}

// networkOperations are the network operations of Operations.
type networkOperations interface {
	Networks(context.Context) ([]api.NetworkInfo, error)
	Network(ctx context.Context, name string) (api.NetworkInfo, error)
	CreateNetwork(context.Context, api.NetworkRequest) (api.Network, error)
	DeleteNetwork(ctx context.Context, name string) error
}
