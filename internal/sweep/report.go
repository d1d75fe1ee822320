package sweep

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/report"
)

// maxMarkdownRows keeps the job summary well inside GitHub's 1 MiB per step.
const maxMarkdownRows = 500

// ranked is the outcomes sorted by the sweep metric (best first, by goal),
// trials without the metric after those with it, then by trial order.
func ranked(res *Result) []Outcome {
	out := append([]Outcome(nil), res.Outcomes...)
	m, minimize := res.Spec.Metric, res.Spec.Goal == "minimize"
	sort.SliceStable(out, func(i, j int) bool {
		a, aok := out[i].Metrics[m]
		b, bok := out[j].Metrics[m]
		aok, bok = aok && out[i].OK(), bok && out[j].OK()
		switch {
		case aok != bok:
			return aok
		case !aok || a == b:
			return out[i].Trial.Index < out[j].Trial.Index
		case minimize:
			return a < b
		}
		return a > b
	})
	return out
}

// row is one trial's cells: #, status, metric, params, duration, run.
func row(o Outcome, metric string) []string {
	status := string(o.Status)
	switch {
	case !o.Ran():
		status = "not run"
	case o.Status == record.StatusPruned:
		status = prunedText(o)
	}
	if o.Reused {
		status += " (earlier)"
	}
	value := "-"
	if v, ok := o.Metrics[metric]; ok {
		value = formatMetric(v)
	}
	dur, run := "-", "-"
	if o.Ran() && !o.Reused {
		dur = formatDuration(o.Duration)
	}
	if o.RunID != "" {
		run = o.RunID
	}
	return []string{fmt.Sprint(o.Trial.Index + 1), status, value, o.Trial.Label(), dur, run}
}

func header(res *Result) []string {
	metric := res.Spec.Metric
	if metric == "" {
		metric = "metric"
	}
	return []string{"TRIAL", "STATUS", strings.ToUpper(metric), "PARAMS", "TIME", "RUN"}
}

// WriteTable prints the trials ranked by the sweep metric and the best one.
func WriteTable(w io.Writer, res *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, printableJoin(header(res), "\t"))
	for _, o := range ranked(res) {
		fmt.Fprintln(tw, printableJoin(row(o, res.Spec.Metric), "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w, report.Printable(bestLine(res)))
	fmt.Fprintf(w, "`go tool mage runs -sweep=%s` lists the sweep's runs\n", res.ID)
}

func bestLine(res *Result) string {
	switch {
	case res.Best != nil:
		b := res.Best
		return fmt.Sprintf("best: trial %d, run %s: %s=%s with %s", b.Trial.Index+1, b.RunID, res.Spec.Metric,
			formatMetric(b.Metrics[res.Spec.Metric]), b.Trial.Label())
	case res.Spec.Metric == "":
		return "best: the sweep names no metric (add metric: and goal: to rank trials)"
	}
	return "best: " + missingMetric(res)
}

// missingMetric says that no finished trial reported the sweep's metric,
// and which metrics they did report, so that a misnamed metric: is plain
// (test_loss where the event files say Loss/test).
func missingMetric(res *Result) string {
	found := map[string]bool{}
	finished := 0
	for _, o := range res.Outcomes {
		if o.OK() {
			finished++
			for k := range o.Metrics {
				found[k] = true
			}
		}
	}
	msg := fmt.Sprintf("no finished trial reported %s", res.Spec.Metric)
	switch {
	case finished == 0:
		return msg
	case len(found) == 0:
		return msg + "; they reported no metric at all (see `go tool mage runs:show RUN` and docs/adopt.md for where metrics are read from)"
	}
	names := slices.Sorted(maps.Keys(found))
	if s, ok := nearestName(res.Spec.Metric, names); ok {
		return fmt.Sprintf("%s; they reported %s: did you mean metric: %s?", msg, strings.Join(names, ", "), s)
	}
	return fmt.Sprintf("%s; they reported %s: name one of those in the sweep's metric:", msg, strings.Join(names, ", "))
}

// nearestName is the found name that differs from want only in case and
// separators (test_loss, Loss/test, test-loss), when exactly one does.
func nearestName(want string, names []string) (string, bool) {
	norm := func(s string) []string {
		f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == '_' || r == '/' || r == '-' || r == '.' || r == ' ' })
		slices.Sort(f)
		return f
	}
	w := norm(want)
	var hit []string
	for _, n := range names {
		if slices.Equal(norm(n), w) {
			hit = append(hit, n)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	return "", false
}

// WriteMarkdown writes the sweep's table as GitHub-flavoured markdown, for
// the job summary.
func WriteMarkdown(w io.Writer, res *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Sweep `%s`\n\n%s\n\n", res.ID, mdEscape(bestLine(res)))
	h := header(res)
	for j := range h {
		h[j] = mdEscape(h[j])
	}
	b.WriteString("| " + strings.Join(h, " | ") + " |\n|" + strings.Repeat("---|", len(h)) + "\n")
	rows := ranked(res)
	for i, o := range rows {
		if i == maxMarkdownRows {
			fmt.Fprintf(&b, "\n… %d more trials: `go tool mage runs -sweep=%s` lists them all\n", len(rows)-i, res.ID)
			break
		}
		cells := row(o, res.Spec.Metric)
		for j := range cells {
			cells[j] = mdEscape(cells[j])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n")
	b.WriteString(chart(res))
	_, err := io.WriteString(w, b.String())
	return err
}

// chart is a bar chart of the sweep metric per trial, in trial order.
func chart(res *Result) string {
	var labels []string
	var values []float64
	for _, o := range res.Outcomes {
		if v, ok := o.Metrics[res.Spec.Metric]; ok && o.OK() {
			labels, values = append(labels, fmt.Sprintf("trial %d", o.Trial.Index+1)), append(values, v)
		}
	}
	if res.Spec.Metric == "" {
		return ""
	}
	if c := report.MermaidChart(res.Spec.Metric, labels, values); c != "" {
		return c + "\n"
	}
	return ""
}

// mdEscape keeps a cell's text from breaking the table or the terminal.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(report.Printable(s))
}

// printableJoin joins table cells, each made printable.
func printableJoin(cells []string, sep string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = report.Printable(c)
	}
	return strings.Join(out, sep)
}
