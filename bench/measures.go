package bench

// Topology names, in the order they are reported.
const (
	TopoEbpfnet = "ebpfnet"
	TopoKernel  = "kernel"
	TopoCeiling = "ceiling"
)

// TopoNames lists the topologies in report order.
var TopoNames = []string{TopoEbpfnet, TopoKernel, TopoCeiling}

// Measure describes one reported figure.
type Measure struct {
	ID     string `json:"id"`     // stable key, e.g. "tcp-cross"
	Title  string `json:"title"`  // table label
	Unit   string `json:"unit"`   // e.g. "Gbit/s"
	Higher bool   `json:"higher"` // true when a higher value is better
	Info   bool   `json:"info"`   // informational (no ratio target)
}

// Measure IDs.
const (
	MTCPSame      = "tcp-same"
	MTCPCross     = "tcp-cross"
	MCPUSame      = "cpu-same"
	MCPUCross     = "cpu-cross"
	MTCPCrossEnc  = "tcp-cross-encrypted"
	MCPUCrossEnc  = "cpu-cross-encrypted"
	MRRSame       = "rr-same"
	MRRSameP50    = "rr-same-p50"
	MRRSameP99    = "rr-same-p99"
	MRRCross      = "rr-cross"
	MRRCrossP50   = "rr-cross-p50"
	MRRCrossP99   = "rr-cross-p99"
	MUDPSame      = "udp-same"
	MUDPCross     = "udp-cross"
	MAddPort      = "add-port"
	MAddPortIPT   = "add-port-iptables"
	MAddPortAPI   = "add-port-api"
	MInstallPorts = "install-ports"
	// MNetworkAttach and MUDPCrossNetworks are the networks phase's (networks.go).
	MNetworkAttach    = "network-create-attach"
	MUDPCrossNetworks = "udp-cross-networks"
	connMeasurePfx    = "conn-"
)

// ConnMeasureID is the ID of "new connections per second with n published ports".
func ConnMeasureID(n int) string { return connMeasurePfx + itoa(n) }

// Measures returns the reported measures in table order, for the given published-port counts.
func Measures(portCounts []int) []Measure {
	ms := []Measure{
		{ID: MTCPSame, Title: "TCP 1 stream, same host", Unit: "Gbit/s", Higher: true},
		{ID: MTCPCross, Title: "TCP 1 stream, cross host", Unit: "Gbit/s", Higher: true},
		{ID: MCPUSame, Title: "CPU per Gbit/s, same host", Unit: "%core/Gbps"},
		{ID: MCPUCross, Title: "CPU per Gbit/s, cross host", Unit: "%core/Gbps"},
		{ID: MTCPCrossEnc, Title: "TCP 1 stream, cross host, encrypted (ceiling: plain WireGuard tunnel)", Unit: "Gbit/s", Higher: true},
		{ID: MCPUCrossEnc, Title: "CPU per Gbit/s, cross host, encrypted", Unit: "%core/Gbps"},
		{ID: MRRSame, Title: "TCP RR, same host", Unit: "trans/s", Higher: true},
		{ID: MRRSameP50, Title: "TCP RR p50, same host", Unit: "us"},
		{ID: MRRSameP99, Title: "TCP RR p99, same host", Unit: "us"},
		{ID: MRRCross, Title: "TCP RR, cross host", Unit: "trans/s", Higher: true},
		{ID: MRRCrossP50, Title: "TCP RR p50, cross host", Unit: "us"},
		{ID: MRRCrossP99, Title: "TCP RR p99, cross host", Unit: "us"},
		{ID: MUDPSame, Title: "UDP 64 B received, same host", Unit: "kpps", Higher: true},
		{ID: MUDPCross, Title: "UDP 64 B received, cross host", Unit: "kpps", Higher: true},
		{ID: MUDPCrossNetworks, Title: "UDP 64 B received, cross host, " + itoa(NetworksDefined) + " networks defined", Unit: "kpps", Higher: true, Info: true},
		{ID: MTCPCrossNative, Title: "TCP 1 stream, cross host, native network", Unit: "Gbit/s", Higher: true},
		{ID: MRRCrossNative, Title: "TCP RR, cross host, native network", Unit: "trans/s", Higher: true},
		{ID: MNetworkAttach, Title: "create a network and attach an endpoint, agent API", Unit: "ms", Info: true},
	}
	for _, n := range portCounts {
		ms = append(ms, Measure{ID: ConnMeasureID(n), Title: "new conn/s, " + groupDigits(n) + " published", Unit: "conn/s", Higher: true})
	}
	if len(portCounts) > 0 {
		top := groupDigits(portCounts[len(portCounts)-1])
		ms = append(ms,
			Measure{ID: MAddPort, Title: "add 1 port at " + top + " (kernel: portmap ADD)", Unit: "ms"},
			Measure{ID: MAddPortIPT, Title: "add 1 port at " + top + " (kernel: iptables -A)", Unit: "ms"},
			Measure{ID: MAddPortAPI, Title: "add 1 port at " + top + ", agent API, no CLI process", Unit: "ms", Info: true},
			Measure{ID: MInstallPorts, Title: "install ports up to " + top + " (bulk)", Unit: "ms", Info: true},
		)
	}
	return append(ms, meshMeasures()...)
}
