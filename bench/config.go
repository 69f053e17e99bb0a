package bench

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// Config is how long and how often to measure.
type Config struct {
	Mode         string        `json:"mode"` // "full" or "smoke"
	Runs         int           `json:"runs"` // repetitions of every measure, topologies interleaved
	TCPDuration  time.Duration `json:"tcp_duration_ns"`
	RRDuration   time.Duration `json:"rr_duration_ns"`
	UDPDuration  time.Duration `json:"udp_duration_ns"`
	ConnDuration time.Duration `json:"conn_duration_ns"`
	PortCounts   []int         `json:"port_counts"`    // published ports installed, increasing
	AddRepeats   int           `json:"add_repeats"`    // timings of adding one port
	Only         string        `json:"only,omitempty"` // regexp: run only the phases whose name matches
	Log          io.Writer     `json:"-"`              // progress lines; nil = none
}

// FullConfig is `make bench`: 7 interleaved runs (enough for a median and quartiles that
// hold on a 2-vCPU machine), 10 s TCP streams, 3 s for the per-packet measures (pinned to one
// CPU, they vary little), about 20 minutes.
func FullConfig() Config {
	return Config{Mode: "full", Runs: 7, TCPDuration: 10 * time.Second, RRDuration: 3 * time.Second,
		UDPDuration: 3 * time.Second, ConnDuration: 3 * time.Second, PortCounts: []int{1, 1000, 10000}, AddRepeats: 5}
}

// SmokeConfig is `make bench-smoke`: every measure and code path once, 1 s each.
func SmokeConfig() Config {
	return Config{Mode: "smoke", Runs: 1, TCPDuration: time.Second, RRDuration: time.Second,
		UDPDuration: time.Second, ConnDuration: time.Second, PortCounts: []int{1, 1000, 10000}, AddRepeats: 1}
}

// Validate rejects configurations Run cannot follow.
func (c Config) Validate() error {
	if c.Runs < 1 || c.AddRepeats < 1 || len(c.PortCounts) == 0 {
		return fmt.Errorf("bench config: need runs >= 1, add repeats >= 1 and port counts")
	}
	if c.PortCounts[0] < 1 {
		return fmt.Errorf("bench config: port counts %v must start at >= 1 and increase", c.PortCounts)
	}
	for i := 1; i < len(c.PortCounts); i++ {
		if c.PortCounts[i] <= c.PortCounts[i-1] {
			return fmt.Errorf("bench config: port counts %v must increase", c.PortCounts)
		}
	}
	if last := c.PortCounts[len(c.PortCounts)-1]; FillerBasePort+last > AddPortBase {
		return fmt.Errorf("bench config: at most %d published ports", AddPortBase-FillerBasePort)
	}
	if _, err := regexp.Compile(c.Only); err != nil {
		return fmt.Errorf("bench config: --only: %w", err)
	}
	return nil
}

// PhaseNames lists the phases in the order Run runs them (what Only matches).
func (c Config) PhaseNames() []string {
	var names []string
	for _, ph := range c.phases() {
		names = append(names, ph.name)
	}
	return append(names, phaseConn, phaseAdd, phaseNetworks, phaseMesh, phaseFlood)
}

// Mesh reports whether the routing-mesh phase is to run (its ebpfnet topology is needed).
func (c Config) Mesh() bool { return c.selected(phaseMesh) }

// Names of the published-port phases and of the encrypted one.
const (
	phaseEncrypted = "TCP cross host, encrypted"
	phaseConn      = "conn/s through a published port"
	phaseAdd       = "add 1 port"
	phaseNetworks  = "networks"
	phaseMesh      = "conn/s through the routing mesh"
	phaseFlood     = "flood from a denied prefix"
)

// Encrypted reports whether the encrypted phase is to run (its topologies are needed).
func (c Config) Encrypted() bool { return c.selected(phaseEncrypted) }

// selected reports whether phase name is to run.
func (c Config) selected(name string) bool {
	return c.Only == "" || regexp.MustCompile(c.Only).MatchString(name)
}
