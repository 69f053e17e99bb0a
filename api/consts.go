package api

// Version is the version of the ebpfnet binaries and of this API, set at build time with
// -ldflags "-X github.com/ebpfnet/ebpfnet/api.Version=...".
var Version = "dev"

// DefaultSocket is the unix socket (mode 0600) the agent serves this API on by default.
const DefaultSocket = "/run/ebpfnet/agent.sock"

// Store kinds, the values of StoreStatus.Kind.
const (
	StoreLocal = "local" // bbolt file in the state dir, single host, static peers
	StoreEtcd  = "etcd"  // etcd shared by all hosts: node registration, pod CIDR allocation
)
