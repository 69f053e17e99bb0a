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
	MTCPSameBig   = "tcp-same-bigtcp"
	MTCPCrossBig  = "tcp-cross-bigtcp"
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
	MFloodDrops       = "flood-drops"
	MFloodCPU         = "flood-cpu"
	MFloodStream      = "flood-stream"
	MFloodDropsTC     = "flood-drops-tc"
	MFloodCPUTC       = "flood-cpu-tc"
	MFloodStreamTC    = "flood-stream-tc"
	MFloodAlone       = "flood-alone"
	MFloodAloneTC     = "flood-alone-tc"
	MFloodFloor       = "flood-floor"
	connMeasurePfx    = "conn-"
)

// ConnMeasureID is the ID of "new connections per second with n published ports".
func ConnMeasureID(n int) string { return connMeasurePfx + itoa(n) }

// Measures returns the reported measures in table order, for the given published-port counts.
func Measures(portCounts []int) []Measure {
	ms := []Measure{
		{ID: MTCPSame, Title: "TCP 1 stream, same host", Unit: "Gbit/s", Higher: true},
		{ID: MTCPCross, Title: "TCP 1 stream, cross host", Unit: "Gbit/s", Higher: true},
		{ID: MTCPSameBig, Title: "TCP 1 stream, same host, BIG TCP on every device", Unit: "Gbit/s", Higher: true},
		{ID: MTCPCrossBig, Title: "TCP 1 stream, cross host, BIG TCP on every device", Unit: "Gbit/s", Higher: true},
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
		{ID: MFloodDrops, Title: "flood from a denied prefix dropped (ebpfnet: XDP; kernel: iptables raw)", Unit: "kpps", Higher: true},
		{ID: MFloodCPU, Title: "CPU per million flood drops above the floor (ebpfnet: XDP; kernel: iptables raw)", Unit: "core-s"},
		{ID: MFloodFloor, Title: "CPU per million flood frames, floor (send, switch, cheapest discard)", Unit: "core-s", Info: true},
		{ID: MFloodStream, Title: "cross-host TCP under the flood, share of unflooded", Unit: "%", Higher: true},
		{ID: MFloodDropsTC, Title: "flood dropped, ebpfnet tc path (--xdp-mode off)", Unit: "kpps", Higher: true, Info: true},
		{ID: MFloodCPUTC, Title: "CPU per million flood drops above the floor, ebpfnet tc path", Unit: "core-s", Info: true},
		{ID: MFloodStreamTC, Title: "cross-host TCP under the flood, ebpfnet tc path", Unit: "%", Higher: true, Info: true},
		{ID: MFloodAlone, Title: "cross-host TCP without flood (ebpfnet: XDP native attached)", Unit: "Gbit/s", Higher: true, Info: true},
		{ID: MFloodAloneTC, Title: "cross-host TCP without flood, ebpfnet --xdp-mode off", Unit: "Gbit/s", Higher: true, Info: true},
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
