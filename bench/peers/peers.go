package peers

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Options shape a benchmark run.
type Options struct {
	Rounds      int           // timed rounds of figures 1 and 2
	QueryRounds int           // timed rounds of figure 3
	SweepRounds int           // timed rounds of figure 4
	Sizes       []int         // store sizes of figure 3
	Figures     []string      // which figures: run, uptodate, query, sweep
	SlowQuery   time.Duration // a query sample longer than this stops that case (extrapolated)
	Keep        bool          // keep the work directory
	Quick       bool
}

// Figures are the names Options.Figures takes, in the order they run.
var Figures = []string{"run", "uptodate", "query", "sweep"}

// DefaultOptions are the full benchmark's options, or the quick check's:
// fewer rounds and smaller stores, a few minutes in all.
func DefaultOptions(quick bool) Options {
	if quick {
		return Options{Rounds: 3, QueryRounds: 2, SweepRounds: 1, Sizes: []int{100, 1000}, Figures: Figures,
			SlowQuery: time.Minute, Quick: true}
	}
	return Options{Rounds: 10, QueryRounds: 3, SweepRounds: 3, Sizes: []int{1000, 10000}, Figures: Figures,
		SlowQuery: 12 * time.Minute}
}

// Report is what a benchmark run found; it is written as peers.json and,
// as tables, peers.md.
type Report struct {
	Date     string            `json:"date"`
	Machine  string            `json:"machine"`
	Go       string            `json:"go"`
	Python   string            `json:"python"`
	Command  string            `json:"command"`
	Options  Options           `json:"options"`
	Versions map[string]string `json:"versions"`
	Results  []*Result         `json:"results"`
	Setup    map[string]any    `json:"setup"` // how long the stores took to make, and how
	Seconds  float64           `json:"seconds"`
}

// bench holds what the figures share.
type bench struct {
	o         Options
	log       io.Writer
	repo      string
	work      string
	bin       string            // magelab, compiled by go tool mage -compile
	base      []string          // environment
	venv      map[string]string // peer → venv directory
	toyVenv   string            // the stage scripts' venv (no packages)
	proj      map[string]string // tool → its toy project
	guildHome string
	versions  map[string]string
	report    *Report
}

// Run runs the benchmark from the repository root repo and writes
// bench/results/peers.json and peers.md there. Progress goes to log.
func Run(ctx context.Context, repo string, o Options, cmdline string, log io.Writer) (*Report, error) {
	t0 := time.Now()
	work := filepath.Join(repo, "bench", ".work", "peers")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if !o.Keep {
		defer os.RemoveAll(work)
	}
	b := &bench{o: o, log: log, repo: repo, work: work, base: baseEnv(), venv: map[string]string{}, proj: map[string]string{},
		bin: filepath.Join(work, "bin", "magelab"), toyVenv: filepath.Join(work, "toy-venv"), guildHome: filepath.Join(work, "guild-home")}
	b.report = &Report{Date: time.Now().UTC().Format("2006-01-02"), Machine: machine(), Go: runtime.Version(),
		Command: cmdline, Options: o, Setup: map[string]any{}}
	fmt.Fprintf(log, "work directory %s\n", work)
	if err := (command{dir: repo, env: b.base, name: "go", args: []string{"tool", "mage", "-compile", b.bin}}).run(ctx); err != nil {
		return nil, err
	}
	if err := b.venvs(ctx); err != nil {
		return nil, err
	}
	b.report.Versions = b.versions
	if err := b.projects(ctx); err != nil {
		return nil, err
	}
	py, _ := command{dir: work, env: b.base, name: filepath.Join(b.toyVenv, "bin", "python"), args: []string{"--version"}}.output(ctx)
	b.report.Python = strings.TrimSpace(string(py))
	steps := map[string]func(context.Context) ([]*Result, error){
		"run": b.figureRun, "uptodate": b.figureUpToDate, "query": b.figureQuery, "sweep": b.figureSweep,
	}
	for _, f := range Figures {
		if !slices.Contains(o.Figures, f) {
			continue
		}
		fmt.Fprintf(log, "\n== %s\n", f)
		res, err := steps[f](ctx)
		b.report.Results = append(b.report.Results, res...)
		if err != nil {
			return b.report, fmt.Errorf("figure %s: %w", f, err)
		}
	}
	b.report.Seconds = time.Since(t0).Seconds()
	return b.report, b.save()
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores", model, runtime.NumCPU())
}
