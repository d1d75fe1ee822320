package ui

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// tinyTrain is a train stage that logs a loss and an accuracy per step to
// metrics.jsonl (napping between steps), then writes metrics.json.
const tinyTrain = `import json, math, os, sys, time
lr, depth, steps, nap, out = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
os.makedirs(out, exist_ok=True)
loss, acc = 2.0, 0.0
with open(os.path.join(out, "metrics.jsonl"), "a") as f:
    for step in range(steps):
        loss = loss * (1 - lr) + 0.01 * depth + 0.02 * math.sin(step)
        acc = 1 - loss / 3
        f.write(json.dumps({"step": step, "loss": loss, "accuracy": acc}) + "\n")
        f.flush()
        print(f"step {step}: loss={loss:.4f}", flush=True)
        time.sleep(nap)
json.dump({"loss": loss, "accuracy": acc}, open(os.path.join(out, "metrics.json"), "w"))
`

// tinyExperiment is an experiment over tinyTrain; note holds markup, which
// every page must show as text.
const tinyExperiment = `name: %s
requirements: [python/requirements.txt]
stages:
  train: {cmd: "python python/tiny_train.py ${train.lr} ${train.depth} ${train.steps} ${train.nap} ${out}"}
train: {lr: 0.1, depth: 2, steps: %d, nap: %s, note: "<img src=x onerror=alert(1)>"}
sweep:
  parameters:
    train.lr: [0.05, 0.1, 0.3]
    train.depth: [1, 4]
  metric: accuracy
  goal: maximize
  parallel: 2
`

// realProject is a git repository with the tiny experiments, whose runs
// the real runner records: a sweep of six trials and one run of another
// experiment, made from a dirty tree (so runs carry a git.patch).
type realProject struct {
	root    string
	ledger  *ledger.Ledger
	project *runner.Project
	sweepID string
}

func newRealProject(t *testing.T) *realProject {
	t.Helper()
	root := t.TempDir()
	write := func(rel, content string) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644))
	}
	write("python/requirements.txt", "")
	write("python/tiny_train.py", tinyTrain)
	write("experiments/tiny.yaml", sprintf(tinyExperiment, "tiny", 40, "0"))
	write("experiments/other.yaml", sprintf(tinyExperiment, "other", 30, "0"))
	write("experiments/slow.yaml", sprintf(tinyExperiment, "slow", 150, "0.08"))
	write(".gitignore", "runs/\n.venv/\n.magelab/\n")
	git(t, root, "init", "-q")
	git(t, root, "add", "-A")
	git(t, root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "tiny")
	write("python/tiny_train.py", tinyTrain+"# tuned by hand\n")
	write("notes.txt", "an untracked file\n")

	s := runner.SettingsFromEnv()
	s.VenvDir = ""
	s.StepSummary = ""
	p := runner.NewProject(root, s, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	exp, err := config.Load(root, "tiny")
	require.NoError(t, err)
	res, err := sweep.Run(ctx, p, exp, sweep.Options{Yes: true})
	require.NoError(t, err)
	other, err := config.Load(root, "other")
	require.NoError(t, err)
	_, err = p.Train(ctx, other, runner.TrainOptions{})
	require.NoError(t, err)
	return &realProject{root: root, ledger: p.Ledger, project: p, sweepID: res.ID}
}

// trainSlow starts the slow experiment's run (150 steps, 80 ms apart) and
// returns its id once it is in the ledger; done closes when it ends.
func (rp *realProject) trainSlow(t *testing.T, ctx context.Context) (id string, done chan error) {
	t.Helper()
	exp, err := config.Load(rp.root, "slow")
	require.NoError(t, err)
	started := make(chan string, 1)
	done = make(chan error, 1)
	go func() {
		_, err := rp.project.Train(ctx, exp, runner.TrainOptions{Force: true, Started: func(r *record.Run) { started <- r.ID }})
		done <- err
	}()
	select {
	case id = <-started:
	case err := <-done:
		t.Fatalf("slow run ended before it started: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("slow run did not start within a minute")
	}
	return id, done
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
}
