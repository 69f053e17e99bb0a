package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
)

// HistoryDir is where past runs are kept under the output directory, one JSON report per run
// named "<UTC start time>-<mode>.json" (e.g. 20261130T031502Z-full.json), so they sort by date.
const HistoryDir = "history"

// historyTime is the layout of a history file's time stamp.
const historyTime = "20060102T150405Z"

// WriteHistory writes rep as a new file of dir (created if missing) and returns its path.
func WriteHistory(dir string, rep Report) (string, error) {
	path := filepath.Join(dir, rep.Started.UTC().Format(historyTime)+"-"+rep.Config.Mode+".json")
	return path, WriteJSON(path, rep)
}

// PreviousRun returns the newest complete report of mode in dir other than the file at
// exclude, and its path; ok is false when there is none. Unreadable files are skipped.
func PreviousRun(dir, mode, exclude string) (rep Report, path string, ok bool) {
	names, _ := filepath.Glob(filepath.Join(dir, "*-"+mode+".json"))
	slices.Sort(names)
	for i := len(names) - 1; i >= 0; i-- {
		if names[i] == exclude {
			continue
		}
		b, err := os.ReadFile(names[i])
		if err != nil || json.Unmarshal(b, &rep) != nil || !rep.Complete || rep.Results == nil {
			continue
		}
		return rep, names[i], true
	}
	return Report{}, "", false
}

// Change is one series' median in this run against the previous one.
type Change struct {
	Measure, Topo string
	Prev, Now     float64
	Pct           float64 // (now-prev)/prev*100
	Worse         bool    // moved in the measure's bad direction
	Outside       bool    // now's median lies outside prev's [min, max] and prev's outside now's
}

// Compare lists, for every measure and topology present in both, how the median moved from
// prev to now. A move counts as Outside when neither run's median falls within the other's
// range of values: a regression (Worse and Outside) that the noise alone does not explain.
func Compare(prev, now *Results) []Change {
	var out []Change
	for _, m := range now.Measures {
		for _, topo := range TopoNames {
			p, n := prev.Get(m.ID, topo), now.Get(m.ID, topo)
			if !p.OK() || !n.OK() || p.Median == 0 {
				continue
			}
			c := Change{Measure: m.ID, Topo: topo, Prev: p.Median, Now: n.Median, Pct: (n.Median - p.Median) / p.Median * 100}
			c.Worse = (n.Median < p.Median) == m.Higher && n.Median != p.Median
			c.Outside = (n.Median < p.Min || n.Median > p.Max) && (p.Median < n.Min || p.Median > n.Max)
			out = append(out, c)
		}
	}
	return out
}

// WriteComparison prints the changes against the previous run at path: every series that
// moved outside both runs' ranges, regressions first marked "REGRESSION".
func WriteComparison(w io.Writer, path string, cs []Change) {
	fmt.Fprintf(w, "\nAgainst the previous run (%s): medians that moved beyond both runs' ranges\n", filepath.Base(path))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := 0
	for _, worse := range []bool{true, false} {
		for _, c := range cs {
			if !c.Outside || c.Worse != worse {
				continue
			}
			tag := "better"
			if worse {
				tag = "REGRESSION"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s -> %s\t%+.1f%%\t%s\n", c.Measure, c.Topo, formatValue(c.Prev), formatValue(c.Now), c.Pct, tag)
			n++
		}
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "  none (every median within the other run's range)")
	}
}
