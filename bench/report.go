package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// formatValue prints v with about three significant digits (thousands grouped).
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return groupDigits(int(math.Round(v)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// cell is "median [min-max]" of a series, "n/a" when the topology has no such measure and
// "FAILED" when every attempt failed.
func cell(s *Series) string {
	switch {
	case s == nil:
		return "n/a"
	case !s.OK():
		return "FAILED"
	case len(s.Values) == 1:
		return formatValue(s.Median)
	}
	return fmt.Sprintf("%s [%s-%s]", formatValue(s.Median), formatValue(s.Min), formatValue(s.Max))
}

// ratioCell is "1.23x" or "-".
func ratioCell(r *Results, m, a, b string) string {
	if v, ok := r.Ratio(m, a, b); ok {
		return fmt.Sprintf("%.2fx", v)
	}
	return "-"
}

// NoisyIQRPct is the interquartile range, in percent of the median, above which a series is
// called noise-bound: its median moves with the machine more than most differences we report.
const NoisyIQRPct = 10

// iqrCell is the IQR in percent of the median of every topology's series, "eb/kernel/ceiling",
// "-" where a topology has fewer than 4 values.
func iqrCell(r *Results, m string) string {
	var parts []string
	for _, topo := range TopoNames {
		if s := r.Get(m, topo); s.OK() && len(s.Values) >= 4 {
			parts = append(parts, fmt.Sprintf("%.0f", s.IQRPct))
		} else {
			parts = append(parts, "-")
		}
	}
	return strings.Join(parts, "/")
}

// NoiseBound lists "measure on topology (IQR n%)" for every series of at least 4 values whose
// IQR exceeds NoisyIQRPct of its median.
func NoiseBound(r *Results) []string {
	var out []string
	for _, m := range r.Measures {
		for _, topo := range TopoNames {
			if s := r.Get(m.ID, topo); s.OK() && len(s.Values) >= 4 && s.IQRPct > NoisyIQRPct {
				out = append(out, fmt.Sprintf("%s on %s (IQR %.0f%%)", m.ID, topo, s.IQRPct))
			}
		}
	}
	return out
}

// WriteFacts prints the machine's facts a run's figures hold for.
func WriteFacts(w io.Writer, f Facts) {
	fmt.Fprintf(w, "Machine: %s, %d CPUs, %s, Linux %s, Go %s, commit %s, load %s -> %s\n",
		f.CPUModel, f.CPUs, f.MemTotal, f.Kernel, f.Go, f.Commit, f.LoadAvgStart, f.LoadAvgEnd)
}

// WriteTable prints every measure: median [min-max] per topology, the IQR of each in percent
// of its median and the ratios ebpfnet/kernel and ebpfnet/ceiling (of medians), then any
// notes and the noise-bound series.
func WriteTable(w io.Writer, r *Results, runs int) {
	fmt.Fprintf(w, "Results: median [min-max] of %d run(s) per topology, topologies interleaved; IQR %% of the median (ebpfnet/kernel/ceiling)\n\n", runs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tUNIT\tBETTER\tEBPFNET\tKERNEL\tCEILING\tIQR%\tEBPFNET/KERNEL\tEBPFNET/CEILING")
	for _, m := range r.Measures {
		better := "lower"
		if m.Higher {
			better = "higher"
		}
		if m.Info {
			better = "info"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Title, m.Unit, better,
			cell(r.Get(m.ID, TopoEbpfnet)), cell(r.Get(m.ID, TopoKernel)), cell(r.Get(m.ID, TopoCeiling)),
			iqrCell(r, m.ID), ratioCell(r, m.ID, TopoEbpfnet, TopoKernel), ratioCell(r, m.ID, TopoEbpfnet, TopoCeiling))
	}
	tw.Flush()
	if nb := NoiseBound(r); len(nb) > 0 {
		fmt.Fprintf(w, "\nNoise-bound (IQR above %d%% of the median): %s\n", NoisyIQRPct, strings.Join(nb, ", "))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.Notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	if n := r.Failures(); n > 0 {
		fmt.Fprintf(w, "\n%d measurement(s) failed:\n", n)
		for _, m := range r.Measures {
			for _, topo := range TopoNames {
				if s := r.Get(m.ID, topo); s != nil {
					for _, e := range s.Errors {
						fmt.Fprintf(w, "  %s on %s: %s\n", m.ID, topo, oneLine(e))
					}
				}
			}
		}
	}
}

// Target is one goal of the benchmark issue: the ratio of ebpfnet's median to another
// topology's (inverted for "faster" goals on times) must reach Want. It is reported, never
// asserted.
type Target struct {
	Name    string  `json:"name"`
	Measure string  `json:"measure"`
	Against string  `json:"against"` // topology compared with
	Invert  bool    `json:"invert"`  // ratio is other/ebpfnet (for times: "N x faster")
	Want    float64 `json:"want"`
	Got     float64 `json:"got"`
	Known   bool    `json:"known"` // both medians exist
	Met     bool    `json:"met"`
}

// Targets evaluates the goals on r; top is the largest published-port count.
func Targets(r *Results, top int) []Target {
	n := groupDigits(top)
	ts := []Target{
		{Name: "cross-host TCP >= 1.3x kernel", Measure: MTCPCross, Against: TopoKernel, Want: 1.3},
		{Name: "same-host TCP >= 1.3x kernel", Measure: MTCPSame, Against: TopoKernel, Want: 1.3},
		// like for like: ebpfnet ships with BIG TCP, the bare veth pair has it only in this row
		{Name: "same-host TCP >= 0.9x same-host ceiling (BIG TCP on every device)", Measure: MTCPSameBig, Against: TopoCeiling, Want: 0.9},
		{Name: "TCP RR same host >= 1.2x kernel (trans/s)", Measure: MRRSame, Against: TopoKernel, Want: 1.2},
		{Name: "TCP RR cross host >= 1.2x kernel (trans/s)", Measure: MRRCross, Against: TopoKernel, Want: 1.2},
		{Name: "new conn/s with " + n + " ports >= 3x kernel", Measure: ConnMeasureID(top), Against: TopoKernel, Want: 3},
		{Name: "add a port at " + n + " >= 10x faster than portmap ADD", Measure: MAddPort, Against: TopoKernel, Invert: true, Want: 10},
		{Name: "add a port at " + n + " >= 10x faster than iptables -A", Measure: MAddPortIPT, Against: TopoKernel, Invert: true, Want: 10},
		{Name: "new conn/s via the mesh with 1,000 services >= 1.5x kernel", Measure: MeshConnMeasureID(1000), Against: TopoKernel, Want: 1.5},
		{Name: "connect p99 via the mesh with 1,000 services lower than kernel", Measure: MeshP99MeasureID(1000), Against: TopoKernel, Invert: true, Want: 1},
		{Name: "cross-host TCP >= 0.8x ceiling", Measure: MTCPCross, Against: TopoCeiling, Want: 0.8},
		{Name: "encrypted cross-host TCP >= 0.85x plain WireGuard tunnel", Measure: MTCPCrossEnc, Against: TopoCeiling, Want: 0.85},
		{Name: "flood drops per CPU-second, XDP >= 3x iptables raw", Measure: MFloodCPU, Against: TopoKernel, Invert: true, Want: 3},
	}
	for i := range ts {
		t := &ts[i]
		a, b := TopoEbpfnet, t.Against
		if t.Invert {
			a, b = b, a
		}
		t.Got, t.Known = r.Ratio(t.Measure, a, b)
		t.Met = t.Known && t.Got >= t.Want
	}
	return ts
}

// WriteTargets prints each target with its ratio and met/missed.
func WriteTargets(w io.Writer, ts []Target) {
	fmt.Fprintln(w, "\nTargets (reported, not asserted):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range ts {
		verdict, got := "missed", "-"
		if t.Known {
			got = fmt.Sprintf("%.3fx", t.Got)
		} else {
			verdict = "unknown (no data)"
		}
		if t.Met {
			verdict = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Name, got, verdict)
	}
	tw.Flush()
}

// oneLine squeezes s onto one line of at most 300 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
