package bench

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// chartCap is the highest relative value drawn; taller bars are cut there and labelled with
// their real value.
const chartCap = 4.0

// topoColors are the bar colours of ebpfnet, kernel and ceiling.
var topoColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// relative returns topo's median of m relative to the kernel's, oriented so that more is
// better (kernel / value for lower-is-better measures); ok is false without both medians.
func relative(r *Results, m Measure, topo string) (float64, bool) {
	a, b := topo, TopoKernel
	if !m.Higher {
		a, b = b, a
	}
	return r.Ratio(m.ID, a, b)
}

// ErrNothingToChart is WriteChart's error when no measured figure has a kernel baseline (e.g.
// a run of the encrypted phase alone): no chart is written.
var ErrNothingToChart = errors.New("chart: no measure with a kernel baseline")

// WriteChart draws a grouped bar chart of every compared measure relative to the kernel
// baseline (kernel = 1, higher is better; latencies, CPU per Gbit/s and times inverted) and
// saves it as a PNG at path.
func WriteChart(path, title string, r *Results) error {
	var labels []string
	vals := make([]plotter.Values, len(TopoNames))
	var texts []string
	var textXY plotter.XYs
	for _, m := range r.Measures {
		if m.Info || !r.Get(m.ID, TopoKernel).OK() {
			continue
		}
		x := float64(len(labels))
		labels = append(labels, wrapLabel(m.Title, 18))
		for i, topo := range TopoNames {
			v, ok := relative(r, m, topo)
			if !ok {
				v = 0
			}
			vals[i] = append(vals[i], math.Min(v, chartCap))
			if ok && topo == TopoEbpfnet {
				texts = append(texts, fmt.Sprintf("%.2f", v))
				textXY = append(textXY, plotter.XY{X: x - 0.27, Y: math.Min(v, chartCap) + 0.04})
			}
		}
	}
	if len(labels) == 0 {
		return ErrNothingToChart
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = fmt.Sprintf("relative to kernel baseline (= 1), higher is better; cut at %.0f", chartCap)
	p.Y.Min, p.Y.Max = 0, chartCap+0.3
	w := vg.Points(11)
	for i, topo := range TopoNames {
		b, err := plotter.NewBarChart(vals[i], w)
		if err != nil {
			return err
		}
		b.Offset = vg.Length(i-1) * w
		b.Color = topoColors[i]
		b.LineStyle.Width = 0
		p.Add(b)
		p.Legend.Add(topo, b)
	}
	one, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(labels)) - 0.5, Y: 1}})
	if err != nil {
		return err
	}
	one.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(one)
	lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: textXY, Labels: texts})
	if err != nil {
		return err
	}
	for i := range lbl.TextStyle {
		lbl.TextStyle[i].Font.Size = vg.Points(7)
	}
	p.Add(lbl)
	p.Legend.Top = true
	p.NominalX(labels...)
	p.X.Tick.Label.Font.Size = vg.Points(7)
	p.X.Tick.Label.XAlign = draw.XCenter
	p.Add(plotter.NewGrid())
	return p.Save(vg.Length(max(10, len(labels))*65)*vg.Points(1)+2*vg.Inch, 6*vg.Inch, path)
}

// wrapLabel breaks s into lines of at most n characters at spaces.
func wrapLabel(s string, n int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > n {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}
