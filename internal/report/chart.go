package report

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxChartPoints keeps a chart readable and its block small.
const MaxChartPoints = 100

// MermaidChart is a GitHub-flavoured markdown block that GitHub renders as a
// bar chart: one bar per label, titled with the metric. Labels beyond
// MaxChartPoints are left out (the caller orders them, best first or in
// trial order); "" when there is nothing to draw.
func MermaidChart(metric string, labels []string, values []float64) string {
	n := min(len(labels), len(values), MaxChartPoints)
	if n == 0 {
		return ""
	}
	xs := make([]string, n)
	ys := make([]string, n)
	for i := range n {
		xs[i] = strconv.Quote(strings.NewReplacer(`"`, "'", "`", "'").Replace(Printable(labels[i])))
		ys[i] = strconv.FormatFloat(values[i], 'g', 6, 64)
	}
	title := strings.NewReplacer(`"`, "'", "`", "'", `\`, "/").Replace(Printable(metric))
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&b, "    title \"%s\"\n    x-axis [%s]\n    y-axis \"%s\"\n    bar [%s]\n```\n", title, strings.Join(xs, ", "), title, strings.Join(ys, ", "))
	if len(labels) > n {
		fmt.Fprintf(&b, "\n(the chart shows the first %d of %d)\n", n, len(labels))
	}
	return b.String()
}
