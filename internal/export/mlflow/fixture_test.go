package mlflow

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/export/mlflow/mlflowtest"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
	"github.com/magelab/magelab/internal/venv"
)

// The integration tests export a real recorded project to a real MLflow
// server (mlflowtest: `mlflow server` from PyPI with SQLite and proxied
// artifacts, behind MLflow's basic-auth app), started once for the
// package, and read back what they wrote with MLflow's own Python client.

var (
	repoRoot = func() string { wd, _ := os.Getwd(); return filepath.Join(wd, "..", "..", "..") }()

	serverOnce sync.Once
	server     *mlflowtest.Server
	serverErr  error
	serverTmp  string

	projectOnce sync.Once
	theProject  *toyProject
	projectErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if server != nil {
		server.Stop()
		if code != 0 {
			b, _ := os.ReadFile(server.Log)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			fmt.Fprintf(os.Stderr, "--- the end of the mlflow server's log (%s):\n%s\n", server.Log, b)
		}
	}
	if serverTmp != "" {
		os.RemoveAll(serverTmp)
	}
	if theProject != nil {
		os.RemoveAll(theProject.tmp)
	}
	os.Exit(code)
}

// mlflowServer is the package's MLflow server, started on first use.
func mlflowServer(t *testing.T) *mlflowtest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an MLflow tracking server (and builds its venv once)")
	}
	serverOnce.Do(func() {
		go recordProject() // while the server starts: both are mostly waiting on Python
		serverTmp, serverErr = os.MkdirTemp("", "magelab-mlflow-")
		if serverErr != nil {
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		server, serverErr = mlflowtest.Start(ctx, mlflowtest.Options{Root: repoRoot, Dir: serverTmp, Auth: true, Out: os.Stderr})
		fmt.Fprintf(os.Stderr, "mlflow server ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	})
	require.NoError(t, serverErr)
	return server
}

// settings reach the package's server as its admin.
func settings(s *mlflowtest.Server) Settings {
	return Settings{URI: s.URL, Username: mlflowtest.Username, Password: mlflowtest.Password, Timeout: time.Minute}
}

// The toy project: a train stage that logs steps and writes a model, an
// eval stage, and a 4-trial sweep; standard library only.
const (
	toyExperiment = `name: toy
requirements: [requirements.txt]
stages:
  train: python/train.py
  eval: python/evaluate.py
seed: 7
train: {scale: 2, steps: 5, fail: false, big: false, sleep: 0}
eval: {factor: 2}
sweep:
  method: grid
  parameters:
    train.scale: [1, 2, 3, 4]
  metric: score
  goal: maximize
  parallel: 2
`
	toyTrain = `import argparse, json, os, sys, time
import model
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir")
a = ap.parse_args()
t = json.load(open(a.params))["train"]
time.sleep(t["sleep"])
with open(os.path.join(a.out, "metrics.jsonl"), "w") as f:
    for step in range(t["steps"]):
        f.write(json.dumps({"step": (step + 1) * 10, "loss": 1.0 / (step + 1), "acc": model.acc(step, t["scale"])}) + "\n")
        if t["fail"]:
            sys.exit(3)
open(os.path.join(a.out, "model.bin"), "wb").write(bytes(range(256)) * 4)
if t["big"]:
    open(os.path.join(a.out, "big.bin"), "wb").write(b"x" * (2 << 20))
json.dump({"score": t["scale"] * 10.0, "loss": 1.0 / t["steps"], "acc": 0.99}, open(os.path.join(a.out, "metrics.json"), "w"))
`
	toyModel = `def acc(step, scale):
    return min(1.0, 0.1 * scale * (step + 1))
`
	toyEvaluate = `import argparse, json, os
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir"); ap.add_argument("--model")
a = ap.parse_args()
p = json.load(open(a.params))
score = json.load(open(os.path.join(a.model, "metrics.json")))["score"]
json.dump({"test_score": score * p["eval"]["factor"]}, open(os.path.join(a.out, "metrics.json"), "w"))
`
	// fakeSMI answers like nvidia-smi on a machine with the first two GPUs
	// of internal/gpu/testdata/four-gpu (its real captures), with a
	// telemetry stream until SIGINT.
	fakeSMI = `#!/bin/sh
data=%DATA%
case "$*" in
  *--version*) cat "$data/h200/version.txt"; exit 0 ;;
  *-lms*)
    trap 'exit 0' INT
    while :; do
      now=$(date '+%Y/%m/%d %H:%M:%S.000')
      echo "$now, 0, GPU-703f6a55-8249-cdee-4b5e-8c293bc03243, 40, 1024, 100.00"
      echo "$now, 1, GPU-1c2e9d4b-6a0f-4e1b-9b7a-2f0d8e3c5a61, 60, 2048, 150.00"
      sleep 0.1
    done ;;
  *--query-gpu=*) head -n 2 "$data/four-gpu/query.csv"; exit 0 ;;
esac
exit 2
`
)

// toyProject is the recorded project every integration test exports.
type toyProject struct {
	tmp, root, venv string
	env             []string
	out             bytes.Buffer
	ledger          *ledger.Ledger
	// The runs it was made with.
	plain, evaluated, dirty, failed string
	sweepID                         string
}

// project records the toy project's runs once: a plain run (with GPU
// telemetry from a fake nvidia-smi), an evaluated run, a run from a dirty
// tree with an untracked file, a 4-trial sweep and a failed run.
func project(t *testing.T) *toyProject {
	t.Helper()
	if testing.Short() {
		t.Skip("runs python stages in a git repository")
	}
	recordProject()
	require.NoError(t, projectErr)
	return theProject
}

// recordProject records the toy project, once; other callers wait for it.
func recordProject() {
	projectOnce.Do(func() {
		start := time.Now()
		theProject, projectErr = newToyProject()
		fmt.Fprintf(os.Stderr, "toy project recorded in %s\n", time.Since(start).Round(100*time.Millisecond))
	})
}

func newToyProject() (*toyProject, error) {
	tmp, err := os.MkdirTemp("", "magelab-mlflow-project-")
	if err != nil {
		return nil, err
	}
	p := &toyProject{tmp: tmp, root: filepath.Join(tmp, "toy"), venv: filepath.Join(tmp, "venv")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "GIT_") && !strings.HasPrefix(k, "MAGELAB_") && !strings.HasPrefix(k, "MLFLOW_") && k != "CUDA_VISIBLE_DEVICES" {
			p.env = append(p.env, kv)
		}
	}
	files := map[string]string{
		".gitignore": "/.magelab/\n/runs/\n__pycache__/\n", "requirements.txt": "# the standard library is enough\n",
		"experiments/toy.yaml": toyExperiment, "python/train.py": toyTrain, "python/model.py": toyModel, "python/evaluate.py": toyEvaluate,
	}
	for rel, content := range files {
		if err := p.write(rel, content); err != nil {
			return nil, err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"remote", "add", "origin", "https://ci:s3cret@example.com/lab/toy.git"}, {"add", "-A"}, {"commit", "-q", "-m", "toy"}} {
		if _, err := p.git(args...); err != nil {
			return nil, err
		}
	}
	v := venv.Venv{Dir: p.venv, Root: p.root, Requirements: []string{"requirements.txt"}}
	if _, err := v.Ensure(context.Background(), &p.out); err != nil {
		return nil, fmt.Errorf("build venv: %w\n%s", err, p.out.String())
	}
	p.ledger = ledger.Open(filepath.Join(p.root, "runs"))
	return p, p.record()
}

func (p *toyProject) record() error {
	ctx := context.Background()
	bin := filepath.Join(p.tmp, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	script := strings.ReplaceAll(fakeSMI, "%DATA%", filepath.Join(repoRoot, "internal", "gpu", "testdata"))
	if err := os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755); err != nil {
		return err
	}
	path := os.Getenv("PATH")
	os.Setenv("PATH", bin+":"+path)
	r, err := p.train(ctx, "train.sleep=0.6", p.settings(100*time.Millisecond))
	os.Setenv("PATH", path)
	if err != nil {
		return err
	}
	p.plain = r.ID
	if r, err = p.train(ctx, "train.scale=3", p.settings(0)); err != nil {
		return err
	}
	p.evaluated = r.ID
	if err := p.eval(ctx, p.evaluated); err != nil {
		return err
	}
	if err := p.write("python/model.py", toyModel+"# tuned by hand\n"); err != nil {
		return err
	}
	if err := p.write("notes.txt", "why this run\n"); err != nil {
		return err
	}
	r, err = p.train(ctx, "train.scale=4 train.big=true", p.settings(0))
	if err != nil {
		return err
	}
	p.dirty = r.ID
	if _, err := p.git("checkout", "python/model.py"); err != nil {
		return err
	}
	os.Remove(filepath.Join(p.root, "notes.txt"))
	exp, err := p.experiment("")
	if err != nil {
		return err
	}
	res, err := sweep.Run(ctx, p.project(p.settings(0)), exp, sweep.Options{Parallel: 2, Cores: 2})
	if err != nil {
		return fmt.Errorf("sweep: %w\n%s", err, p.out.String())
	}
	p.sweepID = res.ID
	r, err = p.train(ctx, "train.fail=true", p.settings(0))
	if err == nil {
		return fmt.Errorf("the failing run %s did not fail", r.ID)
	}
	p.failed = r.ID
	return nil
}

// settings are what a magelab process started now would see; interval
// turns GPU telemetry on.
func (p *toyProject) settings(interval time.Duration) runner.Settings {
	env := p.env
	return runner.Settings{VenvDir: p.venv, GPUInterval: interval, ProgressInterval: time.Hour,
		Lookup: func(name string) (string, bool) { return proc.LookupEnv(env, name) }}
}

func (p *toyProject) project(s runner.Settings) *runner.Project {
	return runner.NewProjectWith(p.root, s, &p.out, runner.Options{Env: p.env})
}

func (p *toyProject) experiment(set string) (*config.Experiment, error) {
	exp, err := config.Load(p.root, "toy")
	if err != nil {
		return nil, err
	}
	if set != "" {
		err = exp.Set(set)
	}
	return exp, err
}

// train trains a run with the -set overrides; a failed run comes back
// with its error.
func (p *toyProject) train(ctx context.Context, set string, s runner.Settings) (*record.Run, error) {
	exp, err := p.experiment(set)
	if err != nil {
		return nil, err
	}
	res, err := p.project(s).Train(ctx, exp, runner.TrainOptions{Force: true})
	if res == nil || res.Run == nil {
		return nil, fmt.Errorf("train %s: %w\n%s", set, err, p.out.String())
	}
	return res.Run, err
}

func (p *toyProject) eval(ctx context.Context, id string) error {
	exp, err := p.experiment("")
	if err != nil {
		return err
	}
	if _, err := p.project(p.settings(0)).Eval(ctx, exp, runner.EvalOptions{RunID: id, Force: true}); err != nil {
		return fmt.Errorf("eval %s: %w\n%s", id, err, p.out.String())
	}
	return nil
}

func (p *toyProject) write(rel, content string) error {
	path := filepath.Join(p.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func (p *toyProject) git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-C", p.root}, args...)...)
	cmd.Env = append(p.env, "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %v: %w\n%s", args, err, out)
	}
	return string(out), nil
}
