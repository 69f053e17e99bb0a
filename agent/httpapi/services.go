package httpapi

import (
	"context"
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
)

// ServiceOperations are the agent's service operations (*agent.Agent implements them).
type ServiceOperations interface {
	Services(context.Context) ([]api.ServiceInfo, error)
	Service(ctx context.Context, name string) (api.ServiceInfo, error)
	AddService(context.Context, api.ServiceRequest) (api.ServiceInfo, error)
	DeleteService(ctx context.Context, name string) error
}

// serviceRoutes adds the service API:
//
//	GET /v1/services    POST /v1/services (api.ServiceRequest)
//	GET /v1/services/{name}    DELETE /v1/services/{name}
func serviceRoutes(mux *http.ServeMux, a ServiceOperations) {
	answer(mux, "GET /v1/services", http.StatusOK, a.Services)
	answerJSON(mux, "POST /v1/services", http.StatusCreated, a.AddService)
	answerNamed(mux, "GET /v1/services/{name}", http.StatusOK, a.Service)
	deleteNamed(mux, "DELETE /v1/services/{name}", a.DeleteService)
}
