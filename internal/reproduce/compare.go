package reproduce

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The verdicts a reproduction records.
const (
	VerdictReproduced = "reproduced"
	VerdictDrifted    = "drifted"
)

// MetricDiff is one metric of a reproduction next to the original's.
type MetricDiff struct {
	Name                       string
	Original, Reproduced       float64
	HasOriginal, HasReproduced bool
	// OK: the values are identical or within the tolerance. A metric only
	// the reproduction has is not judged: OK is true.
	OK bool
}

// Comparison is every metric of the original run against its reproduction.
type Comparison struct {
	Tolerance float64 // relative; 0 means identical
	Metrics   []MetricDiff
}

// CompareMetrics compares each metric of orig with the same metric of
// repro. A value matches when it is identical (NaN matches NaN) or, with
// tol > 0, when |repro - orig| <= tol·|orig|. A metric missing from the
// reproduction drifted; one only the reproduction has is listed, not judged.
func CompareMetrics(orig, repro map[string]float64, tol float64) Comparison {
	c := Comparison{Tolerance: tol}
	names := make([]string, 0, len(orig)+len(repro))
	for k := range orig {
		names = append(names, k)
	}
	for k := range repro {
		if _, ok := orig[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		d := MetricDiff{Name: n}
		d.Original, d.HasOriginal = orig[n]
		d.Reproduced, d.HasReproduced = repro[n]
		switch {
		case !d.HasOriginal:
			d.OK = true
		case d.HasReproduced:
			d.OK = within(d.Original, d.Reproduced, tol)
		}
		c.Metrics = append(c.Metrics, d)
	}
	return c
}

func within(orig, repro, tol float64) bool {
	if orig == repro || math.IsNaN(orig) && math.IsNaN(repro) {
		return true
	}
	return tol > 0 && math.Abs(repro-orig) <= tol*math.Abs(orig)
}

// Drifted lists the metrics that did not reproduce.
func (c Comparison) Drifted() []string {
	var out []string
	for _, d := range c.Metrics {
		if !d.OK {
			out = append(out, d.Name)
		}
	}
	return out
}

// Verdict is VerdictReproduced when every metric of the original
// reproduced, else VerdictDrifted.
func (c Comparison) Verdict() string {
	if len(c.Drifted()) > 0 {
		return VerdictDrifted
	}
	return VerdictReproduced
}

// WriteComparison writes the table (metric, original, reproduced,
// difference, ok) and the verdict line. Values are printed in full (the
// shortest form that reads back as the same float64), so two values that
// print alike are identical.
func WriteComparison(w io.Writer, c Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\toriginal\treproduced\tdifference\tok")
	judged := 0
	for _, d := range c.Metrics {
		if d.HasOriginal {
			judged++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, fullValue(d.Original, d.HasOriginal),
			fullValue(d.Reproduced, d.HasReproduced), difference(d), okWord(d))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, verdictLine(c, judged))
	return err
}

func verdictLine(c Comparison, judged int) string {
	tol := "exact"
	if c.Tolerance > 0 {
		tol = "relative tolerance " + strconv.FormatFloat(c.Tolerance, 'g', -1, 64)
	}
	drifted := c.Drifted()
	switch {
	case judged == 0:
		return "verdict: reproduced: the original run has no metrics, so only that it runs was checked"
	case len(drifted) > 0:
		return fmt.Sprintf("verdict: drifted: %d of %d metrics differ (%s; %s)", len(drifted), judged, strings.Join(drifted, ", "), tol)
	case c.Tolerance > 0:
		return fmt.Sprintf("verdict: reproduced: all %d metrics within %s", judged, tol)
	}
	return fmt.Sprintf("verdict: reproduced: all %d metrics identical", judged)
}

func fullValue(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// difference is reproduced - original, with the relative difference when
// the original is not zero.
func difference(d MetricDiff) string {
	switch {
	case !d.HasOriginal || !d.HasReproduced:
		return "-"
	case d.Original == d.Reproduced || math.IsNaN(d.Original) && math.IsNaN(d.Reproduced):
		return "0"
	}
	diff := d.Reproduced - d.Original
	s := strconv.FormatFloat(diff, 'g', 3, 64)
	if diff > 0 {
		s = "+" + s
	}
	if d.Original != 0 && !math.IsInf(d.Original, 0) {
		s += " (rel " + strconv.FormatFloat(math.Abs(diff/d.Original), 'g', 2, 64) + ")"
	}
	return s
}

func okWord(d MetricDiff) string {
	switch {
	case !d.HasOriginal:
		return "new"
	case !d.HasReproduced:
		return "MISSING"
	case !d.OK:
		return "DRIFT"
	case d.Original == d.Reproduced || math.IsNaN(d.Original):
		return "yes"
	}
	return "yes (within)"
}
