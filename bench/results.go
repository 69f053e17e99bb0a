package bench

import "fmt"

// Results holds every series by measure and topology, plus notes on anomalies seen while
// measuring (e.g. socket errors in a wrk run).
type Results struct {
	Measures []Measure                     `json:"measures"`
	Data     map[string]map[string]*Series `json:"data"` // measure ID -> topology -> series
	Notes    []string                      `json:"notes,omitempty"`
}

// NewResults makes empty results for ms.
func NewResults(ms []Measure) *Results {
	return &Results{Measures: ms, Data: map[string]map[string]*Series{}}
}

// series returns (creating) the series of measure m on topology topo.
func (r *Results) series(m, topo string) *Series {
	byTopo := r.Data[m]
	if byTopo == nil {
		byTopo = map[string]*Series{}
		r.Data[m] = byTopo
	}
	s := byTopo[topo]
	if s == nil {
		s = &Series{}
		byTopo[topo] = s
	}
	return s
}

// Add records one value.
func (r *Results) Add(m, topo string, v float64) {
	s := r.series(m, topo)
	s.Values = append(s.Values, v)
	s.summarize()
}

// Fail records a failed attempt at measure m on topo.
func (r *Results) Fail(m, topo string, err error) {
	s := r.series(m, topo)
	s.Errors = append(s.Errors, err.Error())
}

// Get returns the series of m on topo, or nil.
func (r *Results) Get(m, topo string) *Series { return r.Data[m][topo] }

// Ratio returns median(m on a) / median(m on b); ok is false unless both have values and b's
// median is not zero.
func (r *Results) Ratio(m, a, b string) (float64, bool) {
	sa, sb := r.Get(m, a), r.Get(m, b)
	if !sa.OK() || !sb.OK() || sb.Median == 0 {
		return 0, false
	}
	return sa.Median / sb.Median, true
}

// Failures counts failed attempts over all series.
func (r *Results) Failures() int {
	n := 0
	for _, byTopo := range r.Data {
		for _, s := range byTopo {
			n += len(s.Errors)
		}
	}
	return n
}

// Note records an anomaly worth a line under the table.
func (r *Results) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}
