package agent

import (
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
)

// Nodes lists the cluster's nodes (GET /v1/nodes; see Agent.Nodes). Agents with the local
// store answer 501.
func (c *Client) Nodes() (nodes []api.NodeInfo, err error) {
	return nodes, c.do(http.MethodGet, "/v1/nodes", nil, &nodes)
}
