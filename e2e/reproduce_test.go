package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toyTrain is a train stage that needs no data stage: a seeded score, plus
// noise from os.urandom when train.noise is set; it imports helper when
// train.helper is set, and sleeps when TOY_SLEEP is in its environment.
const toyTrain = `import argparse, json, os, random, time
ap = argparse.ArgumentParser()
ap.add_argument("--params"); ap.add_argument("--out"); ap.add_argument("--in", dest="in_dir")
a = ap.parse_args()
p = json.load(open(a.params))
random.seed(p["seed"])
score = random.random() * p["train"]["scale"]
if p["train"]["noise"]:
    score += int.from_bytes(os.urandom(4), "big") / 2**32
if os.environ.get("TOY_SLEEP"):
    open(os.path.join(os.environ["MAGELAB_RUN_DIR"], "pids"), "w").write(f"{os.getpid()} {os.getpid()}")
    time.sleep(300)
json.dump({"score": score}, open(os.path.join(a.out, "metrics.json"), "w"))
`

const toyExperiment = `name: toy
requirements: [python/requirements.txt]
stages:
  train: python/toy/train.py
seed: 3
train: {scale: 10, noise: false}
`

// TestReproduceDefault reproduces an evaluated run of the default
// experiment made from a clean tree: on CPU, every metric bit for bit.
func TestReproduceDefault(t *testing.T) {
	p := newProject(t)
	p.gitInit()
	p.mustMage("train", "-set=train.epochs=5")
	orig := p.onlyNewRun()
	p.mustMage("eval", "-run="+orig.ID)
	orig = p.readRun(orig.ID)

	r := p.mage("reproduce", orig.ID[len(orig.ID)-8:])
	require.Equal(t, 0, r.code, "reproduce: exit %d\n%s", r.code, r.out)
	t.Logf("reproduce took %s", r.dur.Round(time.Millisecond))
	run := p.onlyNewRun()
	mustContain(t, r.out, "[setup-data] ", "[preprocess] ", "[train] ", "[eval] ",
		"run "+run.ID+" reproduces run "+orig.ID, "metric", "original", "reproduced", "difference",
		"verdict: reproduced: all 5 metrics identical")
	for _, m := range []string{"val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss"} {
		assert.Contains(t, orig.Metrics, m, "%s: %v, the original had %v", m, run.Metrics[m], orig.Metrics[m])
		assert.Equal(t, orig.Metrics[m], run.Metrics[m], "%s: %v, the original had %v", m, run.Metrics[m], orig.Metrics[m])
		full := strconv.FormatFloat(orig.Metrics[m], 'g', -1, 64)
		mustContain(t, r.out, m+"  ", full)
	}
	assert.Equal(t, orig.ID, run.Reproduces, "reproduces %q verdict %q key %s (original key %s)", run.Reproduces, run.Verdict, run.Key, orig.Key)
	assert.Equal(t, "reproduced", run.Verdict, "reproduces %q verdict %q key %s (original key %s)", run.Reproduces, run.Verdict, run.Key, orig.Key)
	assert.Equal(t, orig.Key, run.Key, "reproduces %q verdict %q key %s (original key %s)", run.Reproduces, run.Verdict, run.Key, orig.Key)
	got := stageNames(run)
	assert.Equal(t, "setup-data preprocess train eval", got, "stages %q", got)
	for _, s := range run.Stages {
		assert.False(t, s.Cached, "stage %s was taken from a cache", s.Name)
	}
	mustContain(t, p.mustMage("runs:show", run.ID).out, "reproduces  "+orig.ID, "verdict     reproduced")
	p.noCheckoutLeft()
}

// TestReproduceDirtyTree reproduces a run made from a dirty tree (a
// modified tracked script, a new untracked module it imports) after the
// checkout moved on (new commits, other uncommitted edits), and leaves the
// checkout exactly as it was.
func TestReproduceDirtyTree(t *testing.T) {
	p := newProject(t)
	p.write("python/toy/train.py", toyTrain)
	p.write("experiments/toy.yaml", toyExperiment)
	p.gitInit()
	p.write("python/toy/helper.py", "BONUS = 1000\n")
	p.write("python/toy/train.py", strings.Replace(toyTrain, "json.dump(", "import helper\nscore += helper.BONUS\njson.dump(", 1))
	p.mustMage("train", "-exp=toy", "-set=train.scale=20")
	orig := p.onlyNewRun()
	require.GreaterOrEqual(t, orig.Metrics["score"], 1000.0, "fixture: metrics %v git %+v", orig.Metrics, orig.Git)
	require.NotEmpty(t, orig.Git.Patch, "fixture: metrics %v git %+v", orig.Metrics, orig.Git)
	require.Len(t, orig.Git.Untracked, 1, "fixture: metrics %v git %+v", orig.Metrics, orig.Git)

	p.git("add", "-A")
	p.git("commit", "-q", "-m", "a bonus")
	p.write("python/toy/helper.py", "BONUS = 5\n")
	p.git("commit", "-q", "-am", "a smaller bonus")
	p.write("python/toy/train.py", toyTrain+"# today's edit\n")
	p.write("python/toy/other.py", "X = 1\n")
	before := p.snapshot()

	r := p.mage("reproduce", orig.ID)
	require.Equal(t, 0, r.code, "reproduce: exit %d\n%s", r.code, r.out)
	run := p.onlyNewRun()
	mustContain(t, r.out, "+ git.patch + 1 untracked file", "verdict: reproduced: all 1 metrics identical")
	assert.Equal(t, orig.Metrics["score"], run.Metrics["score"], "score %v key %s, the original's %v %s", run.Metrics["score"], run.Key, orig.Metrics["score"], orig.Key)
	assert.Equal(t, orig.Key, run.Key, "score %v key %s, the original's %v %s", run.Metrics["score"], run.Key, orig.Metrics["score"], orig.Key)
	assert.Equal(t, p.read("runs/"+orig.ID+"/git.patch"), p.read("runs/"+run.ID+"/git.patch"), "the reproduction did not run from the run's diff")
	after := p.snapshot()
	assert.Equal(t, before, after, "the checkout changed:\n--- before\n%s\n--- after\n%s", before, after)
	p.noCheckoutLeft()
}

// TestReproduceDrift: a nondeterministic script is reported as drifted with
// exit status 3 and the verdict recorded; a wide enough -tol passes.
func TestReproduceDrift(t *testing.T) {
	p := newProject(t)
	p.write("python/toy/train.py", toyTrain)
	p.write("experiments/toy.yaml", toyExperiment)
	p.gitInit()
	p.mustMage("train", "-exp=toy", "-set=train.noise=true")
	orig := p.onlyNewRun()

	r := p.mage("reproduce", orig.ID)
	require.Equal(t, 3, r.code, "reproduce: exit %d, want 3\n%s", r.code, r.out)
	mustContain(t, r.out, "DRIFT", "verdict: drifted: 1 of 1 metrics differ (score; exact)", "does not reproduce run "+orig.ID)
	run := p.onlyNewRun()
	assert.Equal(t, "drifted", run.Verdict, "verdict %q reproduces %q status %s", run.Verdict, run.Reproduces, run.Status)
	assert.Equal(t, orig.ID, run.Reproduces, "verdict %q reproduces %q status %s", run.Verdict, run.Reproduces, run.Status)
	assert.Equal(t, record.StatusFinished, run.Status, "verdict %q reproduces %q status %s", run.Verdict, run.Reproduces, run.Status)
	mustContain(t, p.read("runs/ledger.jsonl"), `"verdict":"drifted"`)

	// The score is about 1.5 plus noise in [0, 1), so any two are within 200%.
	r = p.mage("reproduce", orig.ID, "-tol=2")
	require.Equal(t, 0, r.code, "reproduce -tol=2: exit %d\n%s", r.code, r.out)
	mustContain(t, r.out, "yes (within)", "verdict: reproduced: all 1 metrics within relative tolerance 2")
	p.onlyNewRun()
	p.noCheckoutLeft()
}

// TestReproduceRefuses: runs whose code cannot be restored fail with exit
// 1 and say why, leaving no worktree.
func TestReproduceRefuses(t *testing.T) {
	p := newProject(t)
	p.write("python/toy/train.py", toyTrain)
	p.write("experiments/toy.yaml", toyExperiment)
	p.mustMage("train", "-exp=toy") // not a git repository yet
	noGit := p.onlyNewRun()
	p.gitInit()
	p.write("python/toy/train.py", toyTrain+"# uncommitted\n")
	p.mustMage("train", "-exp=toy")
	dirty := p.onlyNewRun()
	os.Remove(filepath.Join(p.dir, "runs", dirty.ID, "git.patch"))

	for _, c := range []struct {
		name, id string
		want     []string
	}{
		{"NoCommit", noGit.ID, []string{"has no git commit recorded", "cannot be reproduced"}},
		{"MissingPatch", dirty.ID, []string{"uncommitted changes", "git.patch", "is missing"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := p.mage("reproduce", c.id)
			require.Equal(t, 1, r.code, "exit %d, want 1\n%s", r.code, r.out)
			mustContain(t, r.out, append(c.want, c.id)...)
			p.noNewRun()
			p.noCheckoutLeft()
		})
	}
}

// TestReproduceInterrupt sends SIGINT during the reproduction's train
// stage, as Ctrl-C does: exit 130, the reproduction recorded as
// interrupted, and its worktree removed.
func TestReproduceInterrupt(t *testing.T) {
	p := newProject(t)
	p.write("python/toy/train.py", toyTrain)
	p.write("experiments/toy.yaml", toyExperiment)
	p.gitInit()
	p.mustMage("train", "-exp=toy")
	orig := p.onlyNewRun()

	p.env = []string{"TOY_SLEEP=1"}
	cmd := p.command(magelabBin, "reproduce", orig.ID)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	pids := waitForFile(t, p, "pids", 60*time.Second)
	m, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "reproduce", "*", "tree"))
	require.Len(t, m, 1, "no worktree while reproducing: %v", m)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	require.Equal(t, 130, code, "exit %d (%v), want 130:\n%s", code, err, out.String())
	run := p.onlyNewRun()
	assert.Equal(t, record.StatusInterrupted, run.Status, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	assert.Equal(t, orig.ID, run.Reproduces, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	assert.Empty(t, run.Verdict, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	for _, f := range strings.Fields(pids) {
		pid, _ := strconv.Atoi(f)
		waitGone(t, pid)
	}
	p.noCheckoutLeft()
}

// gitInit makes the project a git repository with one commit of all its
// files.
func (p *project) gitInit() {
	p.t.Helper()
	p.git("init", "-q", "-b", "main")
	p.git("add", "-A")
	p.git("commit", "-q", "-m", "initial")
}

// git runs git in the project as a user would, taking no optional locks, so
// that looking at the checkout does not rewrite its index.
func (p *project) git(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
	out, err := cmd.CombinedOutput()
	require.NoError(p.t, err, "git %v: %v\n%s", args, err, out)
	return string(out)
}

// snapshot is what a reproduction must leave alone in the user's checkout:
// HEAD and branch, the index's bytes, status, diffs, untracked files'
// contents, worktrees and stash.
func (p *project) snapshot() string {
	p.t.Helper()
	index, err := os.ReadFile(filepath.Join(p.dir, ".git", "index"))
	require.NoError(p.t, err)
	sum := sha256.Sum256(index)
	var b strings.Builder
	b.WriteString("index " + hex.EncodeToString(sum[:]) + "\n")
	for _, args := range [][]string{{"rev-parse", "HEAD"}, {"symbolic-ref", "HEAD"}, {"status", "--porcelain=v1", "--untracked-files=all"},
		{"diff"}, {"diff", "--cached"}, {"worktree", "list", "--porcelain"}, {"stash", "list"}} {
		b.WriteString(p.git(args...))
	}
	for _, f := range strings.Fields(p.git("ls-files", "--others", "--exclude-standard")) {
		b.WriteString(f + ":\n" + p.read(f))
	}
	return b.String()
}

// noCheckoutLeft fails when a reproduction left a worktree, git's record of
// one, or anything under .magelab/reproduce.
func (p *project) noCheckoutLeft() {
	p.t.Helper()
	if _, err := os.Stat(filepath.Join(p.dir, ".git")); err == nil {
		worktrees := p.git("worktree", "list", "--porcelain")
		n := strings.Count(worktrees, "worktree ")
		assert.Equal(p.t, 1, n, "%d worktrees:\n%s", n, worktrees)
		out := p.git("worktree", "prune", "--dry-run", "--verbose")
		assert.Empty(p.t, out, "git has stale worktree records:\n%s", out)
	}
	if entries, err := os.ReadDir(filepath.Join(p.dir, ".magelab", "reproduce")); err == nil {
		assert.Empty(p.t, entries, ".magelab/reproduce holds %d entries", len(entries))
	}
}
