package reproduce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reproduce tests run a small standard-library pipeline (setup-data →
// train → eval) in a real git repository, on a real venv built outside it:
// a reproduction there exercises the same code as one of the default
// experiment, in about a second.

const (
	toyExperiment = `name: toy
requirements: [requirements.txt]
stages:
  setup-data: python/setup_data.py
  train: python/train.py
  eval: python/evaluate.py
seed: 7
data: {n: 5}
train: {scale: 2, noise: false, sleep: false}
eval: {factor: 2}
`
	toySetupData = `import argparse, os
ap = argparse.ArgumentParser(); ap.add_argument("--params"); ap.add_argument("--out")
a = ap.parse_args()
open(os.path.join(a.out, "data.txt"), "w").write("1 2 3 4 5\n")
`
	toyTrain = `import argparse, json, os, random, time
import model
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir")
a = ap.parse_args()
p = json.load(open(a.params))
t = p["train"]
random.seed(p["seed"])
data = [float(x) for x in open(os.path.join(a.in_dir, "data.txt")).read().split()]
if t["sleep"]:
    open(os.path.join(os.environ["MAGELAB_RUN_DIR"], "pids"), "w").write(f"{os.getpid()} {os.getpid()}")
    time.sleep(300)
score = model.fit(data, t["scale"]) + random.random()
if t["noise"]:
    score += int.from_bytes(os.urandom(4), "big") / 2**32
metrics = {"score": score, "threads": float(os.environ.get("OMP_NUM_THREADS", "0"))}
json.dump(metrics, open(os.path.join(a.out, "metrics.json"), "w"))
`
	toyModel = `def fit(data, scale):
    return sum(data) * scale
`
	toyEvaluate = `import argparse, json, os
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir"); ap.add_argument("--model")
a = ap.parse_args()
p = json.load(open(a.params))
score = json.load(open(os.path.join(a.model, "metrics.json")))["score"]
json.dump({"test_score": score * p["eval"]["factor"]}, open(os.path.join(a.out, "metrics.json"), "w"))
`
)

// reproFixture is a project in a real git repository with a real venv, and
// the environment its magelab process sees.
type reproFixture struct {
	t    *testing.T
	root string
	venv string
	env  []string
	out  bytes.Buffer
}

func newReproFixture(t *testing.T) *reproFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a venv and runs python stages in git repositories")
	}
	if err := gitAvailable(); err != nil {
		t.Skip(err)
	}
	f := &reproFixture{t: t, root: t.TempDir(), venv: filepath.Join(t.TempDir(), "venv")}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "GIT_") && !strings.HasPrefix(k, "MAGELAB_") && !slicesContains(reproducedVars, k) {
			f.env = append(f.env, kv)
		}
	}
	f.write(".gitignore", "/.magelab/\n/runs/\n__pycache__/\n")
	f.write("requirements.txt", "# the standard library is enough\n")
	f.write("experiments/toy.yaml", toyExperiment)
	f.write("python/setup_data.py", toySetupData)
	f.write("python/train.py", toyTrain)
	f.write("python/model.py", toyModel)
	f.write("python/evaluate.py", toyEvaluate)
	f.git("init", "-q", "-b", "main")
	f.git("remote", "add", "origin", "https://example.com/lab/toy.git")
	f.commit("toy project")
	v := venv.Venv{Dir: f.venv, Root: f.root, Requirements: []string{"requirements.txt"}}
	_, err := v.Ensure(context.Background(), &f.out)
	require.NoError(t, err, "build venv: %v\n%s", err, f.out.String())
	return f
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// project is the project as a magelab process started now sees it.
func (f *reproFixture) project() *reproducer {
	env := f.env
	lookup := func(name string) (string, bool) { return proc.LookupEnv(env, name) }
	return &reproducer{runner.NewProjectWith(f.root, runner.Settings{VenvDir: f.venv, Lookup: lookup}, &f.out, runner.Options{Env: env})}
}

// setEnv sets a variable in the environment of the next magelab process.
func (f *reproFixture) setEnv(kv string) {
	k, _, _ := strings.Cut(kv, "=")
	var env []string
	for _, x := range f.env {
		if !strings.HasPrefix(x, k+"=") {
			env = append(env, x)
		}
	}
	f.env = append(env, kv)
}

func (f *reproFixture) experiment(set string) *config.Experiment {
	f.t.Helper()
	exp, err := config.Load(f.root, "toy")
	require.NoError(f.t, err)
	if set != "" {
		require.NoError(f.t, exp.Set(set))
	}
	return exp
}

// train trains a new run with the -set overrides.
func (f *reproFixture) train(set string) *record.Run {
	f.t.Helper()
	res, err := f.project().Train(context.Background(), f.experiment(set), runner.TrainOptions{Force: true})
	require.NoError(f.t, err, "train: %v\n%s", err, f.out.String())
	return res.Run
}

func (f *reproFixture) eval(id, set string) {
	f.t.Helper()
	_, err := f.project().Eval(context.Background(), f.experiment(set), runner.EvalOptions{RunID: id, Force: true})
	require.NoError(f.t, err, "eval: %v\n%s", err, f.out.String())
}

func (f *reproFixture) reproduce(id string, opts Options) (*Result, error) {
	f.t.Helper()
	f.out.Reset()
	return Run(context.Background(), f.project().Project, id, opts)
}

func (f *reproFixture) record(id string) *record.Run {
	f.t.Helper()
	r, err := f.project().Ledger.ReadRecord(id)
	require.NoError(f.t, err)
	return r
}

func (f *reproFixture) writeRecord(r *record.Run) {
	f.t.Helper()
	require.NoError(f.t, f.project().Ledger.WriteRecord(r))
}

func (f *reproFixture) write(rel, content string) {
	f.t.Helper()
	path := filepath.Join(f.root, rel)
	require.NoError(f.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(f.t, os.WriteFile(path, []byte(content), 0o644))
}

func (f *reproFixture) read(rel string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, rel))
	require.NoError(f.t, err)
	return string(b)
}

func (f *reproFixture) git(args ...string) string {
	f.t.Helper()
	return gitIn(f.t, f.root, args...)
}

func (f *reproFixture) commit(msg string) {
	f.t.Helper()
	f.git("add", "-A")
	f.git("commit", "-q", "-m", msg)
}

// gitIn runs git in dir as a user would, without taking optional locks, so
// that looking at a checkout does not rewrite its index.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %v\n%s", args, err, out)
	return string(out)
}

// snapshot is everything of the user's checkout a reproduction must leave
// alone: HEAD and branch, the index (its bytes), the status, the diffs of
// the tree and the index, the untracked files' contents, the worktrees and
// the stash.
func (f *reproFixture) snapshot() string {
	f.t.Helper()
	var b strings.Builder
	index, err := os.ReadFile(filepath.Join(f.root, ".git", "index"))
	require.NoError(f.t, err)
	sum := sha256.Sum256(index)
	b.WriteString("index " + hex.EncodeToString(sum[:]) + "\n")
	for _, args := range [][]string{{"rev-parse", "HEAD"}, {"symbolic-ref", "HEAD"}, {"status", "--porcelain=v1", "--untracked-files=all"},
		{"diff"}, {"diff", "--cached"}, {"worktree", "list", "--porcelain"}, {"stash", "list"}} {
		b.WriteString(f.git(args...))
	}
	for _, line := range strings.Split(f.git("ls-files", "--others", "--exclude-standard"), "\n") {
		if line != "" {
			b.WriteString(line + ":\n" + f.read(line))
		}
	}
	return b.String()
}

// noCheckoutLeft fails when a reproduction left a worktree, git's record
// of one, or anything under .magelab/reproduce.
func (f *reproFixture) noCheckoutLeft() {
	f.t.Helper()
	worktrees := f.git("worktree", "list", "--porcelain")
	n := strings.Count(worktrees, "worktree ")
	assert.Equal(f.t, 1, n, "%d worktrees:\n%s", n, worktrees)
	out := f.git("worktree", "prune", "--dry-run", "--verbose")
	assert.Empty(f.t, out, "git has stale worktree records:\n%s", out)
	if entries, err := os.ReadDir(filepath.Join(f.root, ".magelab", "reproduce")); err == nil {
		assert.Empty(f.t, entries, ".magelab/reproduce holds %d entries", len(entries))
	}
}
