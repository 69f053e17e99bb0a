package client

import (
	"net/http"
	"net/url"

	"github.com/ebpfnet/ebpfnet/api"
)

// AddService creates a service; see Agent.AddService.
func (c *Client) AddService(req api.ServiceRequest) (s api.ServiceInfo, err error) {
	return s, c.do(http.MethodPost, "/v1/services", req, &s)
}

// Services lists the services with their backends.
func (c *Client) Services() (ss []api.ServiceInfo, err error) {
	return ss, c.do(http.MethodGet, "/v1/services", nil, &ss)
}

// Service returns the named service with its backends.
func (c *Client) Service(name string) (s api.ServiceInfo, err error) {
	return s, c.do(http.MethodGet, "/v1/services/"+url.PathEscape(name), nil, &s)
}

// DeleteService removes the named service.
func (c *Client) DeleteService(name string) error {
	return c.do(http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, nil)
}
