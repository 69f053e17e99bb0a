// Package client is the ebpfnet agent's API client: JSON over the agent's unix socket, the
// documents of package api. It is all the CLI and the CNI plugin link of ebpfnet, so they
// start fast and carry neither the BPF loader nor the stores (cilium ships its CLI apart
// from cilium-agent the same way).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ebpfnet/ebpfnet/api"
)

// Client talks to an agent's API over its unix socket.
type Client struct {
	socket string
	http   *http.Client
}

// ErrAgentUnreachable is returned (wrapped) when nothing answers on the socket.
var ErrAgentUnreachable = errors.New("cannot reach the ebpfnet agent")

// Error is the agent's refusal of a request: its message (api.Error), the HTTP status it
// answered with and the error kind that status stands for (api.ErrInvalid for 400,
// api.ErrNotFound 404, api.ErrConflict 409, api.ErrFull 507, api.ErrUnavailable 503,
// api.ErrUnsupported 501; nil for other codes), so callers test errors.Is(err, api.ErrX).
type Error struct {
	Status int
	Kind   error
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// kinds maps the agent's HTTP status codes back to errors by meaning (the inverse of the
// agent's httpapi.statusOf).
var kinds = map[int]error{
	http.StatusBadRequest:          api.ErrInvalid,
	http.StatusNotFound:            api.ErrNotFound,
	http.StatusConflict:            api.ErrConflict,
	http.StatusInsufficientStorage: api.ErrFull,
	http.StatusServiceUnavailable:  api.ErrUnavailable,
	http.StatusNotImplemented:      api.ErrUnsupported,
}

// NewClient returns a client for the agent listening on socket.
func NewClient(socket string) *Client {
	return &Client{socket: socket, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}}
}

// do sends a request with an optional body (JSON-encoded, or []byte as it is) and decodes a JSON answer into out (if non-nil).
// Agent-side errors come back as *Error with the agent's message, status and kind.
func (c *Client) do(method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // a document sent as it is (YAML policy files)
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "http://ebpfnet"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s (is `ebpfnet agent` running?): %v", ErrAgentUnreachable, c.socket, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e api.Error
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
			return &Error{Status: resp.StatusCode, Kind: kinds[resp.StatusCode], Msg: resp.Status}
		}
		return &Error{Status: resp.StatusCode, Kind: kinds[resp.StatusCode], Msg: e.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Status returns the agent's status.
func (c *Client) Status() (st api.Status, err error) {
	return st, c.do(http.MethodGet, "/v1/status", nil, &st)
}

// AddEndpoint attaches a container; see Agent.AddEndpoint.
func (c *Client) AddEndpoint(req api.EndpointRequest) (ep api.Endpoint, err error) {
	return ep, c.do(http.MethodPost, "/v1/endpoints", req, &ep)
}

// DeleteEndpoint detaches the named container.
func (c *Client) DeleteEndpoint(name string) error {
	return c.do(http.MethodDelete, "/v1/endpoints/"+url.PathEscape(name), nil, nil)
}

// Endpoints lists endpoints.
func (c *Client) Endpoints() (eps []api.Endpoint, err error) {
	return eps, c.do(http.MethodGet, "/v1/endpoints", nil, &eps)
}

// AddPeer routes a pod CIDR to a peer host.
func (c *Client) AddPeer(req api.PeerRequest) (p api.Peer, err error) {
	return p, c.do(http.MethodPost, "/v1/peers", req, &p)
}

// DeletePeer removes the route of a pod CIDR.
func (c *Client) DeletePeer(cidr string) error {
	return c.do(http.MethodDelete, "/v1/peers?cidr="+url.QueryEscape(cidr), nil, nil)
}

// SetPeerKey sets the WireGuard public key of a peer host's routes.
func (c *Client) SetPeerKey(req api.PeerKeyRequest) (ps []api.Peer, err error) {
	return ps, c.do(http.MethodPut, "/v1/peers/key", req, &ps)
}

// RotateWireGuardKey gives the node a new WireGuard key pair and returns the device status.
func (c *Client) RotateWireGuardKey() (st api.WireGuardStatus, err error) {
	return st, c.do(http.MethodPost, "/v1/wireguard/rotate-key", nil, &st)
}

// Peers lists peers.
func (c *Client) Peers() (ps []api.Peer, err error) {
	return ps, c.do(http.MethodGet, "/v1/peers", nil, &ps)
}

// Publish forwards host ports to an endpoint.
func (c *Client) Publish(req api.PublishRequest) (m api.PortMapping, err error) {
	return m, c.do(http.MethodPost, "/v1/ports", req, &m)
}

// Unpublish removes a published mapping (req.Endpoint, req.Spec, req.HostIP).
func (c *Client) Unpublish(req api.PublishRequest) error {
	return c.do(http.MethodDelete, "/v1/ports", req, nil)
}

// PublishedPorts lists published ports by endpoint name.
func (c *Client) PublishedPorts() (ports map[string][]api.PortMapping, err error) {
	return ports, c.do(http.MethodGet, "/v1/ports", nil, &ports)
}

// Nodes lists the cluster's nodes (GET /v1/nodes); agents with the local store answer 501.
func (c *Client) Nodes() (nodes []api.NodeInfo, err error) {
	return nodes, c.do(http.MethodGet, "/v1/nodes", nil, &nodes)
}

// NATEntries lists live conntrack/NAT entries.
func (c *Client) NATEntries() (entries []api.NATEntry, err error) {
	return entries, c.do(http.MethodGet, "/v1/nat", nil, &entries)
}

// Policy returns the network policy with this host's drop counts.
func (c *Client) Policy() (st api.PolicyState, err error) {
	return st, c.do(http.MethodGet, "/v1/policy", nil, &st)
}

// ApplyPolicy replaces the whole policy with a YAML or JSON document.
func (c *Client) ApplyPolicy(doc []byte) (p api.Policy, err error) {
	return p, c.do(http.MethodPut, "/v1/policy", doc, &p)
}

// AddPolicyRule appends a rule.
func (c *Client) AddPolicyRule(r api.NetworkPolicyRule) (p api.Policy, err error) {
	return p, c.do(http.MethodPost, "/v1/policy/rules", r, &p)
}

// DeletePolicyRule removes rule n.
func (c *Client) DeletePolicyRule(n int) (p api.Policy, err error) {
	return p, c.do(http.MethodDelete, fmt.Sprintf("/v1/policy/rules/%d", n), nil, &p)
}

// SetPolicyDefault sets the default action.
func (c *Client) SetPolicyDefault(action string) (p api.Policy, err error) {
	return p, c.do(http.MethodPut, "/v1/policy/default", map[string]string{"action": action}, &p)
}

// ExplainPolicy asks which rule decides from -> to on port.
func (c *Client) ExplainPolicy(from, to, port string) (e api.Explanation, err error) {
	q := url.Values{"from": {from}, "to": {to}, "port": {port}}
	return e, c.do(http.MethodGet, "/v1/policy/explain?"+q.Encode(), nil, &e)
}

// Monitor streams drop events to fn until ctx ends, fn returns false, or the agent goes away.
func (c *Client) Monitor(ctx context.Context, fn func(api.DropEvent) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://ebpfnet/v1/monitor", nil)
	if err != nil {
		return err
	}
	stream := &http.Client{Transport: c.http.Transport} // no overall timeout: it streams
	resp, err := stream.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s (is `ebpfnet agent` running?): %v", ErrAgentUnreachable, c.socket, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var e api.DropEvent
		if err := dec.Decode(&e); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("monitor stream: %w", err)
		}
		if !fn(e) {
			return nil
		}
	}
}

// Networks lists the cluster's networks with their endpoints.
func (c *Client) Networks() (ns []api.NetworkInfo, err error) {
	return ns, c.do(http.MethodGet, "/v1/networks", nil, &ns)
}

// Network returns the named network with its endpoints.
func (c *Client) Network(name string) (n api.NetworkInfo, err error) {
	return n, c.do(http.MethodGet, "/v1/networks/"+url.PathEscape(name), nil, &n)
}

// CreateNetwork creates a network; see Agent.CreateNetwork.
func (c *Client) CreateNetwork(req api.NetworkRequest) (n api.Network, err error) {
	return n, c.do(http.MethodPost, "/v1/networks", req, &n)
}

// NetworkSlice returns this node's slice of the named network, allocated on first use.
func (c *Client) NetworkSlice(name string) (s api.NetworkSlice, err error) {
	return s, c.do(http.MethodPost, "/v1/networks/"+url.PathEscape(name)+"/slice", nil, &s)
}

// DeleteNetwork removes a network no endpoint is attached to.
func (c *Client) DeleteNetwork(name string) error {
	return c.do(http.MethodDelete, "/v1/networks/"+url.PathEscape(name), nil, nil)
}

// ConnectEndpoint gives an endpoint's container one more interface on req.Network.
func (c *Client) ConnectEndpoint(name string, req api.ConnectRequest) (ep api.Endpoint, err error) {
	return ep, c.do(http.MethodPost, "/v1/endpoints/"+url.PathEscape(name)+"/networks", req, &ep)
}

// DisconnectEndpoint removes an endpoint's interface on network.
func (c *Client) DisconnectEndpoint(name, network string) error {
	return c.do(http.MethodDelete, "/v1/endpoints/"+url.PathEscape(name)+"/networks/"+url.PathEscape(network), nil, nil)
}

// Prefilter returns the underlay's deny list.
func (c *Client) Prefilter() (p api.Prefilter, err error) {
	return p, c.do(http.MethodGet, "/v1/prefilter", nil, &p)
}

// AddPrefilter puts prefixes (IPv4 CIDRs or addresses) on the deny list.
func (c *Client) AddPrefilter(prefixes []string) (ch api.PrefilterChange, err error) {
	return ch, c.do(http.MethodPost, "/v1/prefilter", api.PrefilterRequest{Prefixes: prefixes}, &ch)
}

// DeletePrefilter removes prefixes from the deny list.
func (c *Client) DeletePrefilter(prefixes []string) (ch api.PrefilterChange, err error) {
	return ch, c.do(http.MethodDelete, "/v1/prefilter", api.PrefilterRequest{Prefixes: prefixes}, &ch)
}

// ApplyPrefilter replaces the deny list with list (one prefix a line), atomically.
func (c *Client) ApplyPrefilter(list []byte) (ch api.PrefilterChange, err error) {
	return ch, c.do(http.MethodPut, "/v1/prefilter", list, &ch)
}
