// Command export measures `runs:export -to=mlflow` against MLflow's own
// Python client: the same runs (1,000 by default, each with 100 steps of 3
// metrics, 10 params and the tags magelab sends) logged into the same
// tracking server (mlflowtest: `mlflow server`, SQLite, proxied artifacts,
// no auth) once with MlflowClient (create_run, log_batch, set_terminated
// per run: the fastest public path) and once by magelab's exporter (with
// -artifacts=none: the Python side logs no files either), each into an
// experiment of its own, in one run. The machine is shared: the client
// runs between the first magelab case and the others, so that a load that
// rises or falls during the run does not favour one side, and each case
// records the load average before and after it.
//
// Run it from the repository root: go run ./bench/export [-runs 1000]
// It prints the times and their ratio and writes bench/results/export.json.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/export/mlflow"
	"github.com/magelab/magelab/internal/export/mlflow/mlflowtest"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// options are the benchmark's flags.
type options struct {
	Runs, Steps, Metrics, Params int
	Parallel                     []int
	Workers                      int
	Keep                         bool
}

func main() {
	var o options
	var parallel string
	flag.IntVar(&o.Runs, "runs", 1000, "runs to export")
	flag.IntVar(&o.Steps, "steps", 100, "steps of metrics.jsonl per run")
	flag.IntVar(&o.Metrics, "metrics", 3, "metrics per step")
	flag.IntVar(&o.Params, "params", 10, "params per run")
	flag.StringVar(&parallel, "parallel", "1,4", "magelab's -parallel values to measure")
	flag.IntVar(&o.Workers, "workers", 4, "the server's uvicorn workers (4 is mlflow server's default)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	flag.Parse()
	for _, p := range strings.Split(parallel, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "-parallel=%s: want numbers ≥ 1\n", parallel)
			os.Exit(2)
		}
		o.Parallel = append(o.Parallel, n)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "export bench:", err)
		os.Exit(1)
	}
}

// result is what the benchmark measured.
type result struct {
	Date       string     `json:"date"`
	Machine    string     `json:"machine"`
	Go         string     `json:"go"`
	MLflow     string     `json:"mlflow"`
	Runs       int        `json:"runs"`
	Workers    int        `json:"server_workers"`
	Points     int        `json:"metric_points_per_run"`
	ClientS    float64    `json:"mlflow_client_s"`
	ClientProc float64    `json:"mlflow_client_process_s"`
	ClientLoad string     `json:"mlflow_client_load"`
	Magelab    []measured `json:"magelab"`
	AgainS     float64    `json:"magelab_again_s"`
	AgainReqs  int64      `json:"magelab_again_requests"`
}

type measured struct {
	Parallel int     `json:"parallel"`
	Seconds  float64 `json:"s"`
	Requests int64   `json:"requests"`
	Ratio    float64 `json:"client_over_magelab"`
	Load     string  `json:"load"` // the 1-minute load average before and after
}

func run(o options) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, mlflowtest.Requirements)); err != nil {
		return fmt.Errorf("run it from the repository root: %w", err)
	}
	work, err := os.MkdirTemp("", "magelab-bench-export-")
	if err != nil {
		return err
	}
	if !o.Keep {
		defer os.RemoveAll(work)
	}
	ctx := context.Background()
	fmt.Printf("starting mlflow server (venv %s) ...\n", mlflowtest.Venv(repo).Dir)
	srv, err := mlflowtest.Start(ctx, mlflowtest.Options{Root: repo, Dir: filepath.Join(work, "server"), Workers: o.Workers, Out: os.Stdout})
	if err != nil {
		return err
	}
	defer srv.Stop()
	version, _ := exec.Command(srv.Python, "-c", "import mlflow; print(mlflow.__version__)").Output()

	fmt.Printf("writing %d runs (%d steps × %d metrics, %d params) ...\n", o.Runs, o.Steps, o.Metrics, o.Params)
	l := ledger.Open(filepath.Join(work, "runs"))
	jsonl := filepath.Join(work, "client-runs.jsonl")
	ids, err := generate(l, jsonl, o)
	if err != nil {
		return err
	}
	res := result{Date: time.Now().Format("2006-01-02"), Machine: machine(), Go: runtime.Version(), MLflow: strings.TrimSpace(string(version)),
		Runs: o.Runs, Workers: o.Workers, Points: o.Steps * o.Metrics}

	s := mlflow.Settings{URI: srv.URL, Timeout: 2 * time.Minute}
	// The server's first requests of each kind are slow (each worker
	// imports as it goes): a few runs into an experiment of their own, sent
	// at once, warm it up.
	warm := ids[:min(len(ids), 40)]
	if _, err := mlflow.Export(ctx, l, mlflow.Options{Settings: s, Artifacts: mlflow.ArtifactsNone, Prefix: "bench-warm-up/", RunIDs: warm, Parallel: 8}); err != nil {
		return err
	}
	for i, p := range o.Parallel {
		fmt.Printf("magelab runs:export -parallel=%d ...\n", p)
		before := loadavg()
		start := time.Now()
		r, err := mlflow.Export(ctx, l, mlflow.Options{Settings: s, Artifacts: mlflow.ArtifactsNone, Prefix: fmt.Sprintf("bench-magelab-p%d/", p), Parallel: p})
		if err != nil {
			return err
		}
		c := measured{Parallel: p, Seconds: time.Since(start).Seconds(), Requests: r.Requests, Load: before + " → " + loadavg()}
		res.Magelab = append(res.Magelab, c)
		fmt.Printf("  %s in %.1f s (load %s)\n", r, c.Seconds, c.Load)
		if r.Created != o.Runs {
			return fmt.Errorf("created %d runs, want %d", r.Created, o.Runs)
		}
		if i == 0 {
			if err := client(ctx, srv, jsonl, &res); err != nil {
				return err
			}
		}
	}
	for i := range res.Magelab {
		res.Magelab[i].Ratio = res.ClientS / res.Magelab[i].Seconds
	}
	p := o.Parallel[len(o.Parallel)-1]
	start := time.Now()
	r, err := mlflow.Export(ctx, l, mlflow.Options{Settings: s, Artifacts: mlflow.ArtifactsNone, Prefix: fmt.Sprintf("bench-magelab-p%d/", p), Parallel: p})
	if err != nil {
		return err
	}
	res.AgainS, res.AgainReqs = time.Since(start).Seconds(), r.Requests
	fmt.Printf("again, nothing changed: %s in %.2f s\n\n", r, res.AgainS)
	fmt.Print(markdown(res))
	return save(repo, res)
}

// client logs the runs with MLflow's Python client.
func client(ctx context.Context, srv *mlflowtest.Server, jsonl string, res *result) error {
	fmt.Println("MlflowClient: create_run + log_batch + set_terminated per run ...")
	var out struct {
		Runs    int     `json:"runs"`
		Seconds float64 `json:"seconds"`
	}
	before := loadavg()
	start := time.Now()
	if err := srv.Client(ctx, &out, "log", jsonl, "bench-mlflow-client"); err != nil {
		return err
	}
	res.ClientProc, res.ClientS, res.ClientLoad = time.Since(start).Seconds(), out.Seconds, before+" → "+loadavg()
	fmt.Printf("  %d runs in %.1f s (%.1f s with the Python process; load %s)\n", out.Runs, res.ClientS, res.ClientProc, res.ClientLoad)
	if out.Runs != res.Runs {
		return fmt.Errorf("MlflowClient logged %d runs, want %d", out.Runs, res.Runs)
	}
	return nil
}

// loadavg is the 1-minute load average.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// generate writes o.Runs finished runs into l, each with its
// out/metrics.jsonl, and the same runs as client.py's log input; it
// returns their ids.
func generate(l *ledger.Ledger, jsonl string, o options) ([]string, error) {
	f, err := os.Create(jsonl)
	if err != nil {
		return nil, err
	}
	var ids []string
	defer f.Close()
	w := bufio.NewWriter(f)
	t0 := time.Now().Add(-time.Duration(o.Runs) * time.Minute).UTC().Truncate(time.Millisecond)
	code := 0
	for i := range o.Runs {
		id, err := record.NewID()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
		start := t0.Add(time.Duration(i) * time.Minute)
		end := start.Add(30 * time.Second)
		params := map[string]any{}
		for j := range o.Params {
			params[fmt.Sprintf("p%d", j)] = float64(i%7) * 0.01 * float64(j+1)
		}
		r := &record.Run{ID: id, Experiment: "bench", ExperimentFile: "experiments/bench.yaml", Status: record.StatusFinished, Started: start, Ended: &end,
			DurationSec: 30, Params: map[string]any{"train": params}, Metrics: map[string]float64{},
			Stages: []record.StageRecord{{Name: "train", Started: start, Ended: end}},
			Git:    &record.Git{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main"}, Process: record.Process{Host: "bench"}}
		dir := l.RunDir(id)
		if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
			return nil, err
		}
		var lines strings.Builder
		var points [][4]any
		for step := range o.Steps {
			line := map[string]any{"step": step}
			ts := start.UnixMilli() + 30_000*int64(step)/int64(o.Steps)
			for m := range o.Metrics {
				v := float64(i+m) / float64(step+1)
				line[fmt.Sprintf("m%d", m)] = v
				points = append(points, [4]any{fmt.Sprintf("m%d", m), v, ts, step})
				r.Metrics[fmt.Sprintf("m%d", m)] = v
			}
			b, _ := json.Marshal(line)
			lines.Write(append(b, '\n'))
		}
		if err := os.WriteFile(filepath.Join(dir, "out", "metrics.jsonl"), []byte(lines.String()), 0o644); err != nil {
			return nil, err
		}
		if err := l.WriteRecord(r); err != nil {
			return nil, err
		}
		if err := l.Append(record.Event{Run: id, Type: record.EventRunStarted, Time: start, Experiment: "bench", Params: record.FlattenParams(r.Params), Host: "bench"}); err != nil {
			return nil, err
		}
		if err := l.Append(record.Event{Run: id, Type: record.EventRunFinished, Time: end, Status: record.StatusFinished, ExitCode: &code, Duration: 30, Metrics: r.Metrics}); err != nil {
			return nil, err
		}
		flat := map[string]string{}
		for k, v := range record.FlattenParams(r.Params) {
			b, _ := json.Marshal(v)
			flat[k] = string(b)
		}
		tags := map[string]string{"magelab.run_id": id, "magelab.status": "finished", "mlflow.source.name": r.ExperimentFile,
			"mlflow.source.git.commit": r.Git.SHA, "mlflow.source.git.branch": r.Git.Branch, "magelab.dirty": "false", "magelab.host": "bench",
			"mlflow.runName": record.ShortID(id)}
		b, _ := json.Marshal(map[string]any{"start_ms": start.UnixMilli(), "end_ms": end.UnixMilli(), "status": "FINISHED", "params": flat, "tags": tags, "metrics": points})
		w.Write(append(b, '\n'))
	}
	return ids, w.Flush()
}

// markdown is the result as bench/README.md shows it.
func markdown(r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %s, MLflow %s (SQLite, %d worker(s)); %d runs × %d metric points, 10 params, 8 tags; seconds.\n\n", r.Date, r.Machine, r.Go, r.MLflow, r.Workers, r.Runs, r.Points)
	b.WriteString("| case (in the order run) | requests | time | runs/s | MlflowClient's time / this | load before → after |\n|---|---:|---:|---:|---:|---|\n")
	row := func(c measured) {
		fmt.Fprintf(&b, "| magelab `runs:export`, %d run(s) at a time | %d | %.1f | %.1f | %.2f | %s |\n", c.Parallel, c.Requests, c.Seconds, float64(r.Runs)/c.Seconds, c.Ratio, c.Load)
	}
	row(r.Magelab[0])
	fmt.Fprintf(&b, "| MlflowClient (create_run, log_batch, set_terminated) | %d | %.1f | %.1f | 1.00 | %s |\n", 3*r.Runs, r.ClientS, float64(r.Runs)/r.ClientS, r.ClientLoad)
	for _, c := range r.Magelab[1:] {
		row(c)
	}
	fmt.Fprintf(&b, "| magelab again, nothing changed | %d | %.2f | | | |\n", r.AgainReqs, r.AgainS)
	fmt.Fprintf(&b, "\nMlflowClient's process, Python start-up included: %.1f s.\n", r.ClientProc)
	return b.String()
}

func save(repo string, r result) error {
	dir := filepath.Join(repo, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	path := filepath.Join(dir, "export.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Println("\nwritten:", path)
	return nil
}

// machine names the CPU and its cores.
func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return fmt.Sprintf("%s, %d cores", strings.TrimSpace(v), runtime.NumCPU())
		}
	}
	return fmt.Sprintf("%d cores", runtime.NumCPU())
}
