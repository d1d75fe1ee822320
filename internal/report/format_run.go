package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// section writes aligned "name  value" lines under a title, leaving out
// empty values; it writes nothing when all are empty.
type section struct {
	title string
	rows  [][2]string
}

func (s *section) add(name, value string) {
	if value != "" {
		s.rows = append(s.rows, [2]string{name, value})
	}
}

func (s *section) write(w io.Writer) {
	if len(s.rows) == 0 {
		return
	}
	if s.title != "" {
		fmt.Fprintf(w, "\n%s\n", s.title)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	indent := ""
	if s.title != "" {
		indent = "  "
	}
	for _, r := range s.rows {
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, Printable(r[0]), Printable(oneLine(r[1])))
	}
	tw.Flush()
}

// WriteRun writes a run's record for a reader: status and timings, params,
// metrics, stages, git, environment, GPU.
func WriteRun(w io.Writer, r *record.Run, opt FormatOptions) error {
	long := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		loc := opt.Location
		if loc == nil {
			loc = time.Local
		}
		return t.In(loc).Format("2006-01-02 15:04:05 MST")
	}
	head := section{}
	head.add("run", r.ID)
	exp := r.Experiment
	if r.ExperimentFile != "" {
		exp += "  (" + r.ExperimentFile + ")"
	}
	head.add("experiment", exp)
	status := string(r.Status)
	if r.Status != record.StatusRunning && r.Status != "" {
		status += fmt.Sprintf(", exit %d", r.ExitCode)
	}
	head.add("status", status)
	head.add("error", r.Error)
	head.add("started", long(r.Started))
	if r.Ended != nil {
		head.add("ended", long(*r.Ended))
	}
	if r.DurationSec > 0 {
		head.add("duration", humanDuration(r.DurationSec))
	}
	head.add("sweep", r.SweepID)
	head.add("key", r.Key)
	head.add("reproduces", r.Reproduces)
	head.add("verdict", r.Verdict)
	if r.Process.PID != 0 {
		head.add("process", fmt.Sprintf("pid %d on %s", r.Process.PID, r.Process.Host))
	}
	head.write(w)

	params := section{title: "params"}
	if h := strings.TrimPrefix(r.ParamsHash, "sha256:"); h != "" {
		params.title += "  (hash " + h[:min(12, len(h))] + ")"
	}
	flat := record.FlattenParams(r.Params)
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		params.add(k, formatValue(flat[k]))
	}
	params.write(w)

	writeMetrics(w, r.Metrics, r.MetricSources)

	writeStages(w, r.Stages)
	gitSection(r.Git).write(w)
	envSection(r.Env).write(w)
	gpuSection(r.GPU).write(w)

	fw := section{title: "framework"}
	for _, k := range slices.Sorted(maps.Keys(r.Framework)) {
		fw.add(k, formatValue(r.Framework[k]))
	}
	fw.write(w)
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings")
		for _, m := range r.Warnings {
			fmt.Fprintf(w, "  - %s\n", Printable(m))
		}
	}
	return nil
}

// writeMetrics writes the metrics with where each was read from.
func writeMetrics(w io.Writer, m map[string]float64, src map[string]record.MetricSource) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, "\nmetrics")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		line := "  " + Printable(oneLine(k)) + "\t" + strconv.FormatFloat(m[k], 'g', -1, 64)
		if from := metricSource(src[k]); from != "" {
			line += "\t" + from
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// metricSource says where a metric came from: "train: tensorboard
// out/tb/events.out.tfevents…", "eval: metrics.json"; "" for runs recorded
// before sources were.
func metricSource(s record.MetricSource) string {
	if s.Kind == "" {
		return ""
	}
	out := string(s.Kind)
	if s.Stage != "" {
		out = s.Stage + ": " + out
	}
	if s.File != "" && path.Base(s.File) != string(s.Kind) {
		out += " " + s.File
	}
	return Printable(oneLine(out))
}

func writeStages(w io.Writer, stages []record.StageRecord) {
	if len(stages) == 0 {
		return
	}
	fmt.Fprintln(w, "\nstages")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tCACHED\tEXIT\tDURATION\tMAX RSS\tCPU")
	for _, s := range stages {
		cached, dur, rss, cpu := "no", "-", "-", "-"
		if s.Cached {
			cached = "yes"
		}
		if !s.Started.IsZero() && !s.Ended.IsZero() {
			dur = humanDuration(s.Ended.Sub(s.Started).Seconds())
		}
		if s.MaxRSS > 0 {
			rss = humanBytes(uint64(s.MaxRSS))
		}
		if s.UserSec+s.SysSec > 0 {
			cpu = humanDuration(s.UserSec + s.SysSec)
		}
		exit := strconv.Itoa(s.ExitCode)
		if s.Signal != "" {
			exit += " (" + s.Signal + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.Name, cached, exit, dur, rss, cpu)
	}
	tw.Flush()
}

func gitSection(g *record.Git) *section {
	s := &section{title: "git"}
	if g == nil {
		s.add("state", "not recorded (not a git repository?)")
		return s
	}
	s.add("sha", g.SHA)
	s.add("branch", g.Branch)
	s.add("remote", g.Remote)
	dirty := "no"
	if g.Dirty {
		dirty = "yes"
		if g.Patch != "" {
			dirty += ", changes in " + g.Patch
		}
	}
	s.add("dirty", dirty)
	if n := len(g.Untracked); n > 0 {
		saved := 0
		for _, u := range g.Untracked {
			if u.Saved {
				saved++
			}
		}
		s.add("untracked", fmt.Sprintf("%d files (%d saved)", n, saved))
	}
	s.add("withheld", strings.Join(g.Withheld, ", "))
	s.add("redacted", strings.Join(g.Redacted, ", "))
	var notes []string
	if g.Shallow {
		notes = append(notes, "shallow clone")
	}
	if g.Worktree {
		notes = append(notes, "linked worktree")
	}
	if g.Tool != "" {
		notes = append(notes, "status read by "+g.Tool)
	}
	s.add("notes", strings.Join(notes, ", "))
	return s
}

// envFields are the environment's fields by name, for show and compare.
func envFields(e record.Env) [][2]string {
	python := e.PythonVersion
	if e.Python != "" {
		python = strings.TrimSpace(python + " (" + e.Python + ")")
	}
	cpu := e.CPU
	if e.Cores > 0 {
		cpu = strings.TrimSpace(fmt.Sprintf("%s, %d cores", cpu, e.Cores))
	}
	out := [][2]string{
		{"python", python}, {"requirements", e.RequirementsHash}, {"pip freeze", e.PipFreeze},
		{"os", strings.TrimSpace(e.OS + " " + e.Kernel)}, {"cpu", cpu}, {"ram", humanBytes(e.RAMBytes)},
		{"hostname", e.Hostname}, {"magelab", e.Magelab},
	}
	for _, k := range slices.Sorted(maps.Keys(e.Vars)) {
		out = append(out, [2]string{"$" + k, e.Vars[k]})
	}
	return out
}

func envSection(e record.Env) *section {
	s := &section{title: "env"}
	for _, f := range envFields(e) {
		s.add(f[0], f[1])
	}
	return s
}

// gpuFields are the GPU's fields by name; nil when the run used none.
func gpuFields(g *record.GPU) [][2]string {
	if g == nil {
		return nil
	}
	out := [][2]string{{"driver", g.Driver}, {"cuda", g.CUDA}}
	for _, d := range g.Devices {
		desc := d.Name
		if d.MemoryMiB > 0 {
			desc += fmt.Sprintf(", %d MiB", d.MemoryMiB)
		}
		if d.UUID != "" {
			desc += ", " + d.UUID
		}
		out = append(out, [2]string{fmt.Sprintf("gpu %d", d.Index), desc})
	}
	return out
}

func gpuSection(g *record.GPU) *section {
	s := &section{title: "gpu"}
	if g == nil {
		s.add("devices", "none")
		return s
	}
	for _, f := range gpuFields(g) {
		s.add(f[0], f[1])
	}
	if t := g.Telemetry; t != nil {
		s.add("telemetry", fmt.Sprintf("peak %.0f MiB, utilisation %.0f%% mean, %.0f%% max, %.0f W mean, %.2f Wh (%d samples, every %d ms)",
			t.PeakMemoryMiB, t.MeanUtilPct, t.MaxUtilPct, t.MeanPowerW, t.EnergyWh, t.Samples, t.IntervalMS))
	}
	return s
}

func humanBytes(n uint64) string {
	if n == 0 {
		return ""
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// WriteCompare writes runs side by side: their params and metrics, every
// row that differs marked with *, then their git SHAs, and the git,
// environment and GPU fields that differ.
func WriteCompare(w io.Writer, runs []*record.Run, opt FormatOptions) error {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	tw := newTrimmed(w)
	fmt.Fprintf(tw, "\t\t%s\n", strings.Join(ShortIDs(ids), "\t"))
	row := func(name string, vals []string, always bool) {
		differs := slices.ContainsFunc(vals, func(v string) bool { return v != vals[0] })
		if !differs && !always {
			return
		}
		mark := ""
		if differs {
			mark = "*"
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = pick(v == "", "-", Printable(oneLine(v)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, Printable(name), strings.Join(cells, "\t"))
	}
	// Every line has all its cells, or tabwriter would align the blocks
	// between titles separately.
	title := func(t string) { fmt.Fprintf(tw, "\t%s%s\n", t, strings.Repeat("\t", len(runs))) }
	each := func(f func(i int, r *record.Run) string) []string {
		out := make([]string, len(runs))
		for i, r := range runs {
			out[i] = f(i, r)
		}
		return out
	}
	row("experiment", each(func(_ int, r *record.Run) string { return r.Experiment }), true)
	row("status", each(func(_ int, r *record.Run) string { return string(r.Status) }), true)
	row("started", each(func(_ int, r *record.Run) string { return opt.time(r.Started) }), true)
	row("duration", each(func(_ int, r *record.Run) string { return pick(r.DurationSec > 0, humanDuration(r.DurationSec), "") }), true)
	row("sha", each(func(_ int, r *record.Run) string {
		if r.Git == nil {
			return ""
		}
		return shortSHA(&record.GitBrief{SHA: r.Git.SHA, Dirty: r.Git.Dirty})
	}), true)

	flat := make([]map[string]any, len(runs))
	names := map[string]bool{}
	for i, r := range runs {
		flat[i] = record.FlattenParams(r.Params)
		for k := range flat[i] {
			names[k] = true
		}
	}
	title("params")
	for _, k := range slices.Sorted(maps.Keys(names)) {
		row(k, each(func(i int, _ *record.Run) string {
			v, ok := flat[i][k]
			return pick(ok, formatValue(v), "")
		}), true)
	}
	metrics := map[string]bool{}
	for _, r := range runs {
		for k := range r.Metrics {
			metrics[k] = true
		}
	}
	title("metrics")
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		row(k, each(func(_ int, r *record.Run) string {
			v, ok := r.Metrics[k]
			return pick(ok, strconv.FormatFloat(v, 'g', -1, 64), "")
		}), true)
	}

	// Git, environment and GPU: only what differs.
	var differ [][2][]string
	collect := func(prefix string, fields func(r *record.Run) [][2]string) {
		order, vals := []string{}, map[string][]string{}
		for i, r := range runs {
			for _, f := range fields(r) {
				if _, ok := vals[f[0]]; !ok {
					order = append(order, f[0])
					vals[f[0]] = make([]string, len(runs))
				}
				vals[f[0]][i] = f[1]
			}
		}
		for _, k := range order {
			v := vals[k]
			if slices.ContainsFunc(v, func(s string) bool { return s != v[0] }) {
				differ = append(differ, [2][]string{{prefix + k}, v})
			}
		}
	}
	collect("git ", func(r *record.Run) [][2]string {
		if r.Git == nil {
			return [][2]string{{"sha", ""}}
		}
		return [][2]string{{"branch", r.Git.Branch}, {"remote", r.Git.Remote}, {"dirty", strconv.FormatBool(r.Git.Dirty)}}
	})
	collect("", func(r *record.Run) [][2]string { return envFields(r.Env) })
	collect("", func(r *record.Run) [][2]string {
		if r.GPU == nil {
			return [][2]string{{"gpu", "none"}}
		}
		return gpuFields(r.GPU)
	})
	title("git, env, gpu")
	if len(differ) == 0 {
		title("(same for all runs)")
	}
	for _, d := range differ {
		row(d[0][0], d[1], true)
	}
	return tw.Flush()
}

func pick[T any](ok bool, yes, no T) T {
	if ok {
		return yes
	}
	return no
}

// oneLine keeps a value on its line: one with tabs or line breaks is
// quoted, Go-style.
func oneLine(v string) string {
	if strings.ContainsAny(v, "\t\r\n") {
		return strconv.Quote(v)
	}
	return v
}

// trimmed is a tabwriter whose output loses the spaces it pads the last
// cell of a line with; Flush writes it out.
type trimmed struct {
	*tabwriter.Writer
	buf bytes.Buffer
	w   io.Writer
}

func newTrimmed(w io.Writer) *trimmed {
	t := &trimmed{w: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *trimmed) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(t.buf.String(), "\n") {
		body, nl := strings.CutSuffix(l, "\n")
		b.WriteString(strings.TrimRight(body, " "))
		if nl {
			b.WriteByte('\n')
		}
	}
	t.buf.Reset()
	_, err := io.WriteString(t.w, b.String())
	return err
}
