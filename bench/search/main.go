// Command search compares a sweep's methods on a real training task with
// steps: the digits MLP (python/digits, PyTorch on CPU) over lr × hidden ×
// epochs, as a grid, random, TPE, and TPE with ASHA pruning, each on the
// same 2 CPU slots. For each it reports the best val_accuracy, the compute
// spent (the sum of the epochs the trials ran, read from their
// metrics.jsonl) and the wall time. It then measures the pruning decision's
// latency: a synthetic sweep whose bad trials are pruned, each trial
// stamping when it wrote every step and when SIGINT reached it.
//
// Run it from the repository root: go run ./bench/search [-skip-methods]
// It prints markdown tables and writes bench/results/search.json.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// space is the swept space, as a grid and as ranges.
const (
	gridParams  = "    train.lr: [0.001, 0.003, 0.01, 0.03, 0.1]\n    train.hidden: [16, 32, 64, 128]\n    train.epochs: [10, 20, 40]\n"
	rangeParams = "    train.lr: {min: 0.001, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 128, int: true, log: true}\n" +
		"    train.epochs: [10, 20, 40]\n"
	common = "  metric: val_accuracy\n  goal: maximize\n  parallel: 2\n  max_failures: -1\n"
)

// methods are the sweeps compared, in the order they run.
var methods = []struct{ name, block string }{
	{"grid (60 points)", "  method: grid\n" + common + "  parameters:\n" + gridParams},
	{"random, 20 trials", "  method: random\n  trials: 20\n" + common + "  parameters:\n" + rangeParams},
	{"TPE, 20 trials", "  method: tpe\n  trials: 20\n" + common + "  parameters:\n" + rangeParams},
	{"TPE + ASHA, 30 trials", "  method: tpe\n  trials: 30\n" + common + "  parameters:\n" + rangeParams +
		"  early_stop: {method: asha, min_steps: 2, reduction_factor: 3}\n"},
}

// Result is one sweep's figures.
type Result struct {
	Method     string
	Trials     int
	Pruned     int
	Best       float64
	BestParams string
	Steps      int     // epochs run, summed over the trials
	WallS      float64 // the sweep command, on the same 2 slots
}

func main() {
	skip := flag.Bool("skip-methods", false, "measure the pruning latency only")
	flag.Parse()
	if err := run(*skip); err != nil {
		fmt.Fprintln(os.Stderr, "search bench:", err)
		os.Exit(1)
	}
}

func run(skipMethods bool) error {
	repo, _ := os.Getwd()
	work, err := os.MkdirTemp("", "magelab-bench-search-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "magelab")
	if err := sh(repo, nil, os.Stderr, "go", "tool", "mage", "-compile", bin); err != nil {
		return err
	}
	env := []string{"CUDA_VISIBLE_DEVICES=", "MAGELAB_VENV=" + firstSet(os.Getenv("MAGELAB_VENV"), filepath.Join(repo, ".cache", "test-venv")),
		"MAGELAB_OPTUNA_VENV=" + firstSet(os.Getenv("MAGELAB_OPTUNA_VENV"), filepath.Join(repo, ".cache", "test-venv-optuna"))}
	var results []Result
	if !skipMethods {
		if results, err = compare(repo, work, bin, env); err != nil {
			return err
		}
	}
	lat, err := latency(work, bin, env)
	if err != nil {
		return err
	}
	printReport(results, lat)
	return save(repo, results, lat)
}

// compare runs each method's sweep in one project with the digits stages.
func compare(repo, work, bin string, env []string) ([]Result, error) {
	proj := filepath.Join(work, "digits")
	files := map[string]string{".gitignore": "/runs/\n/.magelab/\n"}
	for i, m := range methods {
		files[fmt.Sprintf("experiments/m%d.yaml", i)] = "name: m" + fmt.Sprint(i) + "\nrequirements: [python/requirements.txt]\nstages:\n" +
			"  setup-data: python/digits/setup_data.py\n  preprocess: python/digits/preprocess.py\n  train: python/digits/train.py\n" +
			"seed: 42\ndata: {test_size: 0.2, val_size: 0.2}\ntrain: {lr: 0.01, epochs: 10, batch_size: 64, hidden: 64, device: cpu}\nsweep:\n" + m.block
	}
	if err := layout(proj, repo, files, []string{"python/lab.py", "python/requirements.txt", "python/digits"}); err != nil {
		return nil, err
	}
	var out []Result
	for i, m := range methods {
		exp := fmt.Sprintf("-exp=m%d", i)
		if err := sh(proj, env, io.Discard, bin, "preprocess", exp); err != nil { // the data stages, before the clock starts
			return nil, err
		}
		start := time.Now()
		log, _ := os.Create(filepath.Join(work, fmt.Sprintf("m%d.log", i)))
		err := sh(proj, env, log, bin, "sweep", exp)
		log.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w (log in %s)", m.name, err, log.Name())
		}
		r, err := figures(proj, fmt.Sprintf("m%d", i))
		if err != nil {
			return nil, err
		}
		r.Method, r.WallS = m.name, time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "%s: best %.4f, %d steps, %.0f s\n", m.name, r.Best, r.Steps, r.WallS)
		out = append(out, r)
	}
	return out, nil
}

// figures reads one experiment's sweep from the ledger and the trials'
// metrics.jsonl.
func figures(proj, exp string) (Result, error) {
	l := ledger.Open(filepath.Join(proj, "runs"))
	runs, _, err := l.Summaries()
	if err != nil {
		return Result{}, err
	}
	r := Result{Best: math.Inf(-1)}
	for _, s := range runs {
		if s.Experiment != exp || s.SweepID == "" {
			continue
		}
		r.Trials++
		r.Steps += countLines(filepath.Join(l.RunDir(s.ID), "out", "metrics.jsonl"))
		switch {
		case s.Status == record.StatusPruned:
			r.Pruned++
		case s.Status == record.StatusFinished && s.Metrics["val_accuracy"] > r.Best:
			r.Best = s.Metrics["val_accuracy"]
			r.BestParams = fmt.Sprintf("lr=%v hidden=%v epochs=%v", s.Params["train.lr"], s.Params["train.hidden"], s.Params["train.epochs"])
		}
	}
	return r, nil
}

// latencyTrain logs a step every 0.2 s with the time it wrote it, and
// records when SIGINT reached it; its "bad" points plateau high.
const latencyTrain = `import json, os, signal, sys, time
p = json.load(open(sys.argv[sys.argv.index("--params") + 1]))["train"]
out = sys.argv[sys.argv.index("--out") + 1]
os.makedirs(out, exist_ok=True)
def on_int(sig, frame):
    open(os.path.join(out, "sigint.txt"), "w").write(repr(time.time()))
    sys.exit(130)
signal.signal(signal.SIGINT, on_int)
with open(os.path.join(out, "metrics.jsonl"), "a") as f:
    for step in range(1, 16):
        loss = 2.0 + 0.5 / step if p["kind"] == "bad" else 0.1 + 1.0 / step
        f.write(json.dumps({"step": step, "loss": loss, "written": time.time()}) + "\n")
        f.flush()
        time.sleep(0.2)
json.dump({"loss": loss}, open(os.path.join(out, "metrics.json"), "w"))
`

// Latency is the pruning decisions' latency: from the write of the step
// the pruner judged to the SIGINT reaching the trial.
type Latency struct {
	Samples          []float64 // milliseconds
	MedianMS, MaxMS  float64
	Trials, Pruned   int
	StepIntervalMS   int
	FollowPollMS     int
	GraceSIGKILLRuns int // pruned runs that needed SIGKILL
}

func latency(work, bin string, env []string) (Latency, error) {
	proj := filepath.Join(work, "latency")
	files := map[string]string{".gitignore": "/runs/\n/.magelab/\n", "python/lat.py": latencyTrain,
		"experiments/lat.yaml": "name: lat\nrequirements: [python/requirements.txt]\nstages:\n  train: python/lat.py\n" +
			"train: {kind: good, rep: 0}\nsweep:\n  metric: loss\n  goal: minimize\n  parallel: 2\n  parameters:\n" +
			"    train.kind: [good, bad]\n    train.rep: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n" +
			"  early_stop: {method: asha, min_steps: 1, reduction_factor: 3}\n"}
	if err := layout(proj, "", files, []string{"python/requirements.txt"}); err != nil {
		return Latency{}, err
	}
	if err := sh(proj, env, io.Discard, bin, "sweep", "-exp=lat"); err != nil {
		return Latency{}, err
	}
	l := ledger.Open(filepath.Join(proj, "runs"))
	runs, _, err := l.Summaries()
	if err != nil {
		return Latency{}, err
	}
	lat := Latency{StepIntervalMS: 200, FollowPollMS: 50}
	for _, s := range runs {
		lat.Trials++
		if s.Status != record.StatusPruned || s.PrunedStep == nil {
			continue
		}
		lat.Pruned++
		rec, err := l.ReadRecord(s.ID)
		if err == nil {
			if st, _ := rec.Stage("train"); st.Signal == "killed" {
				lat.GraceSIGKILLRuns++
			}
		}
		written := stepTimes(filepath.Join(l.RunDir(s.ID), "out", "metrics.jsonl"))[*s.PrunedStep]
		b, err := os.ReadFile(filepath.Join(l.RunDir(s.ID), "out", "sigint.txt"))
		var got float64
		if err != nil || written == 0 || json.Unmarshal(b, &got) != nil {
			continue
		}
		lat.Samples = append(lat.Samples, 1000*(got-written))
	}
	sort.Float64s(lat.Samples)
	if n := len(lat.Samples); n > 0 {
		lat.MedianMS, lat.MaxMS = lat.Samples[n/2], lat.Samples[n-1]
	}
	return lat, nil
}

// stepTimes maps each step of a metrics.jsonl to its "written" stamp.
func stepTimes(path string) map[int]float64 {
	out := map[int]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			Step    int     `json:"step"`
			Written float64 `json:"written"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out[m.Step] = m.Written
		}
	}
	return out
}

func printReport(results []Result, lat Latency) {
	if len(results) > 0 {
		grid := results[0]
		fmt.Println("| method | trials (pruned) | best val_accuracy | compute: epochs run | vs grid | wall time, 2 slots | best point |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---|")
		for _, r := range results {
			fmt.Printf("| %s | %d (%d) | %.4f | %d | %.2f | %.0f s | %s |\n", r.Method, r.Trials, r.Pruned, r.Best, r.Steps,
				float64(r.Steps)/float64(grid.Steps), r.WallS, r.BestParams)
		}
		fmt.Println()
	}
	fmt.Printf("pruning latency (step written → SIGINT received), %d pruned of %d trials, a step every %d ms, metrics.jsonl polled every %d ms: median %.0f ms, max %.0f ms; %d pruned runs needed SIGKILL\n",
		lat.Pruned, lat.Trials, lat.StepIntervalMS, lat.FollowPollMS, lat.MedianMS, lat.MaxMS, lat.GraceSIGKILLRuns)
}

func save(repo string, results []Result, lat Latency) error {
	dir := filepath.Join(repo, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "methods": results, "latency": lat}, "", "  ")
	return os.WriteFile(filepath.Join(dir, "search.json"), b, 0o644)
}

// layout writes files into proj, copies the listed paths from repo, and
// makes proj a git repository, as a user's project is.
func layout(proj, repo string, files map[string]string, copies []string) error {
	for rel, content := range files {
		if err := write(filepath.Join(proj, rel), []byte(content)); err != nil {
			return err
		}
	}
	for _, c := range copies {
		if err := filepath.Walk(filepath.Join(repoOr(repo), c), func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || strings.Contains(path, "__pycache__") {
				return err
			}
			rel, _ := filepath.Rel(repoOr(repo), path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return write(filepath.Join(proj, rel), b)
		}); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"}} {
		if err := sh(proj, nil, io.Discard, "git", args...); err != nil {
			return err
		}
	}
	return nil
}

func repoOr(repo string) string {
	if repo == "" {
		wd, _ := os.Getwd()
		return wd
	}
	return repo
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func sh(dir string, env []string, out io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
