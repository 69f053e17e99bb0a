package api

import "net/netip"

// Load-balancing algorithms and session affinities of a service.
const (
	LBMaglev         = "maglev"    // Maglev consistent hashing of the connection's 5-tuple (default)
	LBRandom         = "random"    // a random Maglev slot per new connection
	AffinityNone     = "none"      // default
	AffinityClientIP = "client-ip" // every connection of a client to one backend
)

// ServiceRequest asks the agent to create a service (raw user input, as `ebpfnet service add`
// takes it).
type ServiceRequest struct {
	Name     string `json:"name"`               // [A-Za-z0-9_.-], 1..64, unique in the cluster
	Port     string `json:"port"`               // "80/tcp", "53/udp"; "80" is tcp
	Selector string `json:"selector"`           // Kubernetes label selector of the backends, e.g. "app=web"
	VIP      string `json:"vip,omitempty"`      // in the service CIDR; empty: the first free address
	Publish  uint16 `json:"publish,omitempty"`  // routing-mesh port on every host; 0: none
	LB       string `json:"lb,omitempty"`       // LBMaglev (default) or LBRandom
	Affinity string `json:"affinity,omitempty"` // AffinityNone (default) or AffinityClientIP
	// HealthCheck is "tcp" (a TCP connect to the service port) or "tcp:PORT"; empty: none.
	HealthCheck string `json:"healthCheck,omitempty"`
}

// Service is a stored service: a virtual IP and port balanced over the endpoints (on any
// host) whose labels match Selector; each backend serves on Port too.
type Service struct {
	Name     string     `json:"name"`
	VIP      netip.Addr `json:"vip"`
	Port     uint16     `json:"port"`
	Proto    string     `json:"protocol"` // "tcp" or "udp"
	Selector string     `json:"selector"`
	Publish  uint16     `json:"publish,omitempty"`
	LB       string     `json:"lb"`
	Affinity string     `json:"affinity"`
	// HealthCheck: each agent probes its local backends with a TCP connect to this port
	// every second; 0 = no health check.
	HealthCheck uint16 `json:"healthCheckPort,omitempty"`
}

// ServiceBackend is an endpoint serving a service.
type ServiceBackend struct {
	Endpoint string     `json:"endpoint"`
	IP       netip.Addr `json:"ip"`
	Local    bool       `json:"local"` // on this host
}

// ServiceInfo is a service with its current backends, as this host's datapath has them.
type ServiceInfo struct {
	Service
	Backends []ServiceBackend `json:"backends"`
}
