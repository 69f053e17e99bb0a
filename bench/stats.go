package bench

import (
	"slices"
	"strconv"
	"strings"
)

// Series is every value one topology produced for one measure, and its summary.
type Series struct {
	Values    []float64 `json:"values"`
	Errors    []string  `json:"errors,omitempty"`
	Median    float64   `json:"median"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	SpreadPct float64   `json:"spread_pct"` // (max-min)/median*100
	Q1        float64   `json:"q1"`         // 25th percentile (linear interpolation)
	Q3        float64   `json:"q3"`         // 75th percentile
	IQRPct    float64   `json:"iqr_pct"`    // (q3-q1)/median*100
}

// OK reports whether the series has at least one value.
func (s *Series) OK() bool { return s != nil && len(s.Values) > 0 }

// summarize fills Median, Min, Max and SpreadPct from Values.
func (s *Series) summarize() {
	if len(s.Values) == 0 {
		return
	}
	v := slices.Clone(s.Values)
	slices.Sort(v)
	s.Min, s.Max = v[0], v[len(v)-1]
	s.Median = median(v)
	s.Q1, s.Q3 = quantile(v, 0.25), quantile(v, 0.75)
	if s.Median != 0 {
		s.SpreadPct = (s.Max - s.Min) / s.Median * 100
		s.IQRPct = (s.Q3 - s.Q1) / s.Median * 100
	}
}

// quantile q (0..1) of sorted values, interpolated linearly between the closest ranks (the
// "type 7" estimator of R and NumPy's default).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// median of sorted values (mean of the two middle ones for an even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// itoa is strconv.Itoa.
func itoa(n int) string { return strconv.Itoa(n) }

// groupDigits formats n with comma thousands separators: 10000 -> "10,000".
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
