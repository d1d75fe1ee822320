// Command ledger measures querying the run ledger: `runs -where ... -sort
// ... -limit 20`, plain `runs`, and `runs:show` by short id, each in a child
// process of the binary `go tool mage -compile` builds, on synthetic
// ledgers of 10k, 100k and 1M runs; and, in the same run, MLflow's tracking
// store on SQLite holding the same 10k and 100k runs, searched with
// search_runs for the same filter and order.
//
// Run it from the repository root: go run ./bench/ledger [-sizes ...] [-reps 7]
// It works in a temporary directory (removed unless -keep), prints a table,
// writes bench/results/ledger.json and, with -readme, the table into
// bench/ledger/README.md.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

const (
	where   = "val_accuracy>0.9 train.lr=0.01 status=finished"
	sortBy  = "-val_accuracy"
	markers = "<!-- results -->"
	endMark = "<!-- /results -->"
)

type options struct {
	sizes, mlflowSizes []int
	reps, clientRuns   int
	keep, readme       bool
	work               string
}

// sample is one timed child process.
type sample struct {
	WallMS   float64 `json:"wall_ms"`
	MaxRSSKB int64   `json:"max_rss_kib"`
}

// caseResult is one case at one size.
type caseResult struct {
	Case    string    `json:"case"`
	Runs    int       `json:"runs"`
	Command string    `json:"command"`
	Samples []sample  `json:"samples"`
	MinMS   float64   `json:"min_ms"`
	MedMS   float64   `json:"median_ms"`
	MaxMS   float64   `json:"max_ms"`
	RSSKiB  int64     `json:"max_rss_kib"`
	Extra   any       `json:"mlflow,omitempty"`
	Matches *[]string `json:"ids,omitempty"`
}

type sizeResult struct {
	Runs        int             `json:"runs"`
	LedgerBytes int64           `json:"ledger_bytes"`
	GenerateS   float64         `json:"generate_s"`
	Cases       []*caseResult   `json:"cases"`
	MLflowLoad  json.RawMessage `json:"mlflow_load,omitempty"`
	MLflowQuery json.RawMessage `json:"mlflow_query,omitempty"`
	MLflowProc  *sample         `json:"mlflow_query_process,omitempty"`
	SameTop20   *bool           `json:"same_top20_as_mlflow,omitempty"`
}

type report struct {
	Date          string        `json:"date"`
	Machine       string        `json:"machine"`
	GoVersion     string        `json:"go"`
	Reps          int           `json:"reps"`
	MLflowInstall float64       `json:"mlflow_install_s,omitempty"`
	Sizes         []*sizeResult `json:"sizes"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-spawn" {
		spawnMain(os.Args[2], os.Args[3], os.Args[4:])
		return
	}
	var o options
	sizes := flag.String("sizes", "10000,100000,1000000", "ledger sizes, runs")
	ml := flag.String("mlflow", "10000,100000", "sizes also loaded into MLflow (\"\": none)")
	flag.IntVar(&o.reps, "reps", 7, "repetitions per case, after one warm-up")
	flag.IntVar(&o.clientRuns, "client", 200, "runs per MLflow store logged through MlflowClient, to measure its rate (the rest are inserted directly)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.BoolVar(&o.readme, "readme", false, "write the table into bench/ledger/README.md")
	flag.Parse()
	var err error
	if o.sizes, err = ints(*sizes); err == nil {
		o.mlflowSizes, err = ints(*ml)
	}
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/ledger:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil {
			return nil, fmt.Errorf("size %q: %w", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(o options) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if o.work, err = os.MkdirTemp("", "magelab-ledger-bench-"); err != nil {
		return err
	}
	if o.keep {
		fmt.Println("work directory:", o.work)
	} else {
		defer os.RemoveAll(o.work)
	}
	bin := filepath.Join(o.work, "magelab")
	if err := sh(repo, "go", "tool", "mage", "-compile", bin); err != nil {
		return err
	}
	rep := &report{Date: time.Now().UTC().Format("2006-01-02"), Machine: machine(), GoVersion: runtime.Version(), Reps: o.reps}
	var python string
	if len(o.mlflowSizes) > 0 {
		t := time.Now()
		if python, err = mlflowVenv(o.work); err != nil {
			return err
		}
		rep.MLflowInstall = time.Since(t).Seconds()
	}
	for _, n := range o.sizes {
		sr, err := measureSize(o, repo, bin, python, n)
		if err != nil {
			return err
		}
		rep.Sizes = append(rep.Sizes, sr)
		if !o.keep {
			os.RemoveAll(filepath.Join(o.work, strconv.Itoa(n))) // a 1M ledger is 1.3 GB
		}
	}
	table := markdown(rep)
	fmt.Print("\n" + table)
	if err := writeJSON(filepath.Join(repo, "bench", "results", "ledger.json"), rep); err != nil {
		return err
	}
	if o.readme {
		return writeReadme(filepath.Join(repo, "bench", "ledger", "README.md"), table)
	}
	return nil
}

// measureSize generates a ledger of n runs and times the cases on it.
func measureSize(o options, repo, bin, python string, n int) (*sizeResult, error) {
	dir := filepath.Join(o.work, strconv.Itoa(n))
	withMLflow := python != "" && slices.Contains(o.mlflowSizes, n)
	var rw *runsWriter
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if withMLflow {
		if rw, err = newRunsWriter(filepath.Join(dir, "runs.jsonl")); err != nil {
			return nil, err
		}
	}
	var showID string
	var showRun *synthRun // runs:show looks up a run from the middle of the ledger
	seen := 0
	t := time.Now()
	size, err := generate(dir, n, 1, func(r *synthRun) {
		if rw != nil {
			rw.add(r)
		}
		if seen++; seen == n/2 {
			showRun = r
		}
	})
	if err == nil && rw != nil {
		err = rw.close()
	}
	if err != nil {
		return nil, fmt.Errorf("generate %d runs: %w", n, err)
	}
	sr := &sizeResult{Runs: n, LedgerBytes: size, GenerateS: time.Since(t).Seconds()}
	fmt.Printf("%d runs: ledger %.0f MB, generated in %.1fs\n", n, float64(size)/1e6, sr.GenerateS)
	if showID, err = writeShownRecord(dir, showRun); err != nil {
		return nil, err
	}
	cases := []*caseResult{
		{Case: "runs -where -sort -limit 20", Runs: n, Command: fmt.Sprintf("runs -where=%q -sort=%s -limit=20", where, sortBy)},
		{Case: "runs (newest 20)", Runs: n, Command: "runs"},
		{Case: "runs:show SHORTID", Runs: n, Command: "runs:show " + showID},
	}
	args := [][]string{
		{"runs", "-where=" + where, "-sort=" + sortBy, "-limit=20"},
		{"runs"},
		{"runs:show", showID},
	}
	for rep := -1; rep < o.reps; rep++ { // round-robin; rep -1 warms the page cache
		for i, c := range cases {
			s, err := timeChild(dir, bin, args[i]...)
			if err != nil {
				return nil, err
			}
			if rep >= 0 {
				c.Samples = append(c.Samples, s)
			}
		}
	}
	for _, c := range cases {
		c.summarize()
		fmt.Printf("  %-28s min %8.1f  median %8.1f  max %8.1f ms   max RSS %6.1f MiB\n", c.Case, c.MinMS, c.MedMS, c.MaxMS, float64(c.RSSKiB)/1024)
	}
	sr.Cases = cases
	if withMLflow {
		if err := measureMLflow(o, repo, bin, python, dir, sr); err != nil {
			return nil, err
		}
	}
	return sr, nil
}

// writeShownRecord writes run.json for the run runs:show looks up (a
// synthetic ledger has no run directories), and returns its short id.
func writeShownRecord(dir string, r *synthRun) (string, error) {
	if r == nil {
		return "", errors.New("no run to show")
	}
	l := ledger.Open(filepath.Join(dir, "runs"))
	rec := &record.Run{ID: r.ID, Experiment: r.Experiment, ExperimentFile: "experiments/" + r.Experiment + ".yaml",
		Status: r.Status, Started: r.Started, DurationSec: r.Duration, Key: key(r.ID), Params: r.Params, Metrics: r.Metrics,
		Stages: []record.StageRecord{{Name: "train", Started: r.Started, Ended: r.Started.Add(time.Duration(r.Duration * float64(time.Second)))}},
		Git:    &record.Git{SHA: key(r.ID)[:40], Branch: "main"}, Env: record.Env{Python: ".venv/bin/python", PythonVersion: "3.12.3"}}
	if err := l.WriteRecord(rec); err != nil {
		return "", err
	}
	short := r.ID[len(r.ID)-8:]
	if _, err := query.ResolveID(l, short); err != nil { // 8 hex digits clash in ~1 of 10^4 pairs
		short = r.ID[len(r.ID)-12:]
	}
	return short, nil
}

// timeChild runs bin with args in dir, output discarded, and returns its
// wall time and peak RSS. It runs it through a copy of this program
// (-spawn): Linux starts a child's ru_maxrss at the peak RSS of the process
// that forked it (os/exec forks with CLONE_VM), and this one's grows with
// the ledgers it writes; the spawner's stays at a few MiB.
func timeChild(dir, bin string, args ...string) (sample, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	cmd := exec.Command(self, append([]string{"-spawn", dir, bin}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, stderr.String())
	}
	var s sample
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return sample{}, fmt.Errorf("spawn output %q: %w", stdout.String(), err)
	}
	return s, nil
}

// spawnMain runs bin with args in dir and prints its sample as JSON.
func spawnMain(dir, bin string, args []string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	t := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := sample{WallMS: float64(time.Since(t).Microseconds()) / 1000}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSSKB = ru.Maxrss
	}
	json.NewEncoder(os.Stdout).Encode(s)
}

func (c *caseResult) summarize() {
	ms := make([]float64, len(c.Samples))
	for i, s := range c.Samples {
		ms[i] = s.WallMS
		c.RSSKiB = max(c.RSSKiB, s.MaxRSSKB)
	}
	slices.Sort(ms)
	if len(ms) > 0 {
		c.MinMS, c.MedMS, c.MaxMS = ms[0], ms[len(ms)/2], ms[len(ms)-1]
	}
}

func sh(dir string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
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

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeReadme puts the table between the README's result markers.
func writeReadme(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, markers), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", path, markers, endMark)
	}
	s = s[:i+len(markers)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
