package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// Format is how a listing of runs is written.
type Format string

// The formats of a listing.
const (
	FormatTable    Format = "table" // aligned columns for a terminal
	FormatMarkdown Format = "md"    // a GitHub-flavoured markdown table
	FormatCSV      Format = "csv"   // every param and metric, full precision
	FormatJSON     Format = "json"  // an array of objects
	// FormatHTML is one self-contained page with the web UI's charts; the
	// ui package writes it (it owns the page), not WriteRuns.
	FormatHTML Format = "html"
)

// ParseFormat checks a -format value; "" is a table.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatTable, nil
	case FormatTable, FormatMarkdown, FormatCSV, FormatJSON, FormatHTML:
		return f, nil
	case "markdown":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown format %q (want table, md, csv, json or html)", s)
}

// FormatOptions are the settings of every format.
type FormatOptions struct {
	Location *time.Location // for times; nil: local time
	// Chart, in markdown, adds a bar chart of this metric per run after the
	// table (the runs that have it, in the listing's order).
	Chart string
	// Width, for a table, is the terminal's: the table is laid out to fit
	// it (see writeFitted). 0 (a pipe, a file) writes every column.
	Width int
	// Cols, for a table or markdown, are the columns to show, by header
	// name (id, status, train.lr, val_accuracy, ...), in that order.
	Cols []string
}

func (o FormatOptions) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// WriteRuns writes a listing of runs, in their order. The table and
// markdown show each run's short id, experiment, status, start, git SHA
// (with * when the tree was dirty), the params that differ across the runs,
// every metric, duration and GPU; csv and json hold everything.
func WriteRuns(w io.Writer, runs []record.Summary, f Format, opt FormatOptions) error {
	switch f {
	case FormatCSV:
		return writeCSV(w, runs)
	case FormatJSON:
		return writeJSON(w, runs)
	case FormatMarkdown:
		g, err := listing(runs, opt, 4).choose(opt.Cols)
		if err != nil {
			return err
		}
		if err := writeMarkdown(w, g); err != nil || opt.Chart == "" {
			return err
		}
		return writeChart(w, runs, opt.Chart)
	case FormatTable, "":
		if opt.Width > 0 && len(opt.Cols) == 0 {
			return writeFitted(w, runs, opt)
		}
		g, err := listing(runs, opt, 4).choose(opt.Cols)
		if err != nil {
			return err
		}
		return writeTable(w, g)
	}
	return fmt.Errorf("unknown format %q", f)
}

// grid is a listing as text cells, with which columns hold numbers and
// which are params or metrics (their names keep their case in a table's
// header).
type grid struct {
	head     []string
	numeric  []bool
	keepCase []bool
	rows     [][]string
	tail     int // the fixed columns after the params and metrics
}

// anySlurm reports whether a Slurm job ran any of the runs: only then does
// a listing have a slurm column.
func anySlurm(runs []record.Summary) bool {
	for _, r := range runs {
		if r.Slurm != "" {
			return true
		}
	}
	return false
}

// listing lays runs out for the table and markdown, numbers with digits
// significant digits.
func listing(runs []record.Summary, opt FormatOptions, digits int) grid {
	params := DifferingParams(runs)
	metrics := MetricNames(runs)
	g := grid{head: []string{"id", "experiment", "status", "started", "sha"}}
	g.head = append(g.head, params...)
	g.head = append(g.head, metrics...)
	tail := []string{"duration", "gpu"}
	slurm := anySlurm(runs)
	if slurm {
		tail = append(tail, "slurm") // the job that ran it, on a cluster
	}
	g.head = append(g.head, tail...)
	g.tail = len(tail)
	g.numeric = make([]bool, len(g.head))
	for i, p := range params {
		g.numeric[5+i] = allNumbers(runs, p)
	}
	for i := range metrics {
		g.numeric[5+len(params)+i] = true
	}
	g.numeric[len(g.head)-g.tail] = true
	g.keepCase = make([]bool, len(g.head))
	for i := 5; i < len(g.head)-g.tail; i++ {
		g.keepCase[i] = true
	}
	ids := ShortIDs(runIDs(runs))
	for i, r := range runs {
		row := []string{ids[i], r.Experiment, string(r.Status), opt.time(r.Started), shortSHA(r.Git)}
		for _, p := range params {
			v, ok := r.Params[p]
			row = append(row, cell(ok, func() string { return formatValue(v) }))
		}
		for _, m := range metrics {
			v, ok := r.Metrics[m]
			row = append(row, cell(ok, func() string { return strconv.FormatFloat(v, 'g', digits, 64) }))
		}
		row = append(row, formatDuration(r), r.GPU)
		if slurm {
			row = append(row, r.Slurm)
		}
		g.rows = append(g.rows, row)
	}
	if slices.ContainsFunc(runs, func(r record.Summary) bool { return r.Reproduces != "" }) {
		g.head, g.numeric, g.keepCase = append(g.head, "reproduces"), append(g.numeric, false), append(g.keepCase, false)
		for i, r := range runs {
			g.rows[i] = append(g.rows[i], reproduction(r))
		}
	}
	return g
}

// reproduction is what a listing says of a run that reproduces another:
// that run's short id and the verdict.
func reproduction(r record.Summary) string {
	if r.Reproduces == "" {
		return ""
	}
	return strings.TrimSpace(record.ShortID(r.Reproduces) + " " + r.Verdict)
}

func cell(ok bool, text func() string) string {
	if !ok {
		return ""
	}
	return text()
}

func writeTable(w io.Writer, g grid) error {
	tw := newTrimmed(w)
	upper := make([]string, len(g.head))
	for i, h := range g.head {
		upper[i] = strings.ToUpper(h)
		if g.keepCase[i] { // params and metrics keep their case
			upper[i] = h
		}
		upper[i] = Printable(upper[i])
	}
	writeTabRow(tw, upper)
	for _, r := range g.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = Printable(c)
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		writeTabRow(tw, cells)
	}
	return tw.Flush()
}

func writeTabRow(tw io.Writer, cells []string) {
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// writeMarkdown writes a GitHub-flavoured markdown table: pipes escaped,
// line breaks flattened, numbers right-aligned.
func writeMarkdown(w io.Writer, g grid) error {
	esc := strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")
	row := func(cells []string) string {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = esc.Replace(Printable(c))
		}
		return "| " + strings.Join(out, " | ") + " |\n"
	}
	var b strings.Builder
	b.WriteString(row(g.head))
	align := make([]string, len(g.head))
	for i, n := range g.numeric {
		align[i] = "---"
		if n {
			align[i] = "---:"
		}
	}
	b.WriteString("|" + strings.Join(align, "|") + "|\n")
	for _, r := range g.rows {
		b.WriteString(row(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChart draws metric per run, labelled by short id.
func writeChart(w io.Writer, runs []record.Summary, metric string) error {
	var labels []string
	var values []float64
	short := ShortIDs(runIDs(runs))
	for i, r := range runs {
		if v, ok := r.Metrics[metric]; ok {
			labels, values = append(labels, short[i]), append(values, v)
		}
	}
	if chart := MermaidChart(metric, labels, values); chart != "" {
		_, err := io.WriteString(w, "\n"+chart)
		return err
	}
	return nil
}

// ShortIDs returns the short form of each id: its last 8 characters (the
// random end of a UUIDv7; its start is a timestamp that runs made close
// together share), longer where that is not unique among ids.
func ShortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i := range ids {
		n := record.ShortIDLen
		for n < len(ids[i]) && sharesSuffix(ids, i, n) {
			n++
		}
		out[i] = ids[i][max(0, len(ids[i])-n):]
	}
	return out
}

func sharesSuffix(ids []string, i, n int) bool {
	suffix := ids[i][max(0, len(ids[i])-n):]
	for j, id := range ids {
		if j != i && id != ids[i] && strings.HasSuffix(id, suffix) {
			return true
		}
	}
	return false
}

func runIDs(runs []record.Summary) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func shortSHA(g *record.GitBrief) string {
	if g == nil || g.SHA == "" {
		return ""
	}
	s := record.ShortSHA(g.SHA)
	if g.Dirty {
		s += "*"
	}
	return s
}

// formatDuration is a run's duration to the second, or "" while it runs.
func formatDuration(r record.Summary) string {
	if r.Duration <= 0 {
		return ""
	}
	return humanDuration(r.Duration)
}

func humanDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Minute:
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// formatValue writes a param value as YAML would show it.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// DifferingParams are the param names whose values are not the same in
// every run (a name some runs lack differs), sorted.
func DifferingParams(runs []record.Summary) []string {
	var out []string
	for _, p := range paramNames(runs) {
		first, ok0 := runs[0].Params[p]
		for _, r := range runs[1:] {
			v, ok := r.Params[p]
			if ok != ok0 || formatValue(v) != formatValue(first) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func paramNames(runs []record.Summary) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for k := range r.Params {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// MetricNames are the names of every metric any of runs has, sorted.
func MetricNames(runs []record.Summary) []string {
	set := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func allNumbers(runs []record.Summary, param string) bool {
	for _, r := range runs {
		if v, ok := r.Params[param]; ok {
			if _, num := v.(float64); !num {
				return false
			}
		}
	}
	return true
}

// FormatMetrics renders metrics as sorted name=value pairs, as train and
// eval print them.
func FormatMetrics(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%.4g", k, m[k])
	}
	return strings.Join(parts, " ")
}
