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
	if r.code != 0 {
		t.Fatalf("reproduce: exit %d\n%s", r.code, r.out)
	}
	t.Logf("reproduce took %s", r.dur.Round(time.Millisecond))
	run := p.onlyNewRun()
	mustContain(t, r.out, "[setup-data] ", "[preprocess] ", "[train] ", "[eval] ",
		"run "+run.ID+" reproduces run "+orig.ID, "metric", "original", "reproduced", "difference",
		"verdict: reproduced: all 5 metrics identical")
	for _, m := range []string{"val_accuracy", "val_loss", "train_loss", "test_accuracy", "test_loss"} {
		if _, ok := orig.Metrics[m]; !ok || run.Metrics[m] != orig.Metrics[m] {
			t.Errorf("%s: %v, the original had %v", m, run.Metrics[m], orig.Metrics[m])
		}
		full := strconv.FormatFloat(orig.Metrics[m], 'g', -1, 64)
		mustContain(t, r.out, m+"  ", full)
	}
	if run.Reproduces != orig.ID || run.Verdict != "reproduced" || run.Key != orig.Key {
		t.Errorf("reproduces %q verdict %q key %s (original key %s)", run.Reproduces, run.Verdict, run.Key, orig.Key)
	}
	if got := stageNames(run); got != "setup-data preprocess train eval" {
		t.Errorf("stages %q", got)
	}
	for _, s := range run.Stages {
		if s.Cached {
			t.Errorf("stage %s was taken from a cache", s.Name)
		}
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
	if orig.Metrics["score"] < 1000 || orig.Git.Patch == "" || len(orig.Git.Untracked) != 1 {
		t.Fatalf("fixture: metrics %v git %+v", orig.Metrics, orig.Git)
	}

	p.git("add", "-A")
	p.git("commit", "-q", "-m", "a bonus")
	p.write("python/toy/helper.py", "BONUS = 5\n")
	p.git("commit", "-q", "-am", "a smaller bonus")
	p.write("python/toy/train.py", toyTrain+"# today's edit\n")
	p.write("python/toy/other.py", "X = 1\n")
	before := p.snapshot()

	r := p.mage("reproduce", orig.ID)
	if r.code != 0 {
		t.Fatalf("reproduce: exit %d\n%s", r.code, r.out)
	}
	run := p.onlyNewRun()
	mustContain(t, r.out, "+ git.patch + 1 untracked file", "verdict: reproduced: all 1 metrics identical")
	if run.Metrics["score"] != orig.Metrics["score"] || run.Key != orig.Key {
		t.Errorf("score %v key %s, the original's %v %s", run.Metrics["score"], run.Key, orig.Metrics["score"], orig.Key)
	}
	if p.read("runs/"+run.ID+"/git.patch") != p.read("runs/"+orig.ID+"/git.patch") {
		t.Error("the reproduction did not run from the run's diff")
	}
	if after := p.snapshot(); after != before {
		t.Errorf("the checkout changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
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
	if r.code != 3 {
		t.Fatalf("reproduce: exit %d, want 3\n%s", r.code, r.out)
	}
	mustContain(t, r.out, "DRIFT", "verdict: drifted: 1 of 1 metrics differ (score; exact)", "does not reproduce run "+orig.ID)
	run := p.onlyNewRun()
	if run.Verdict != "drifted" || run.Reproduces != orig.ID || run.Status != record.StatusFinished {
		t.Errorf("verdict %q reproduces %q status %s", run.Verdict, run.Reproduces, run.Status)
	}
	mustContain(t, p.read("runs/ledger.jsonl"), `"verdict":"drifted"`)

	// The score is about 1.5 plus noise in [0, 1), so any two are within 200%.
	r = p.mage("reproduce", orig.ID, "-tol=2")
	if r.code != 0 {
		t.Fatalf("reproduce -tol=2: exit %d\n%s", r.code, r.out)
	}
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
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.out)
			}
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := waitForFile(t, p, "pids", 60*time.Second)
	if m, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "reproduce", "*", "tree")); len(m) != 1 {
		t.Fatalf("no worktree while reproducing: %v", m)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d (%v), want 130:\n%s", code, err, out.String())
	}
	run := p.onlyNewRun()
	if run.Status != record.StatusInterrupted || run.Reproduces != orig.ID || run.Verdict != "" {
		t.Errorf("status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	}
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
	if err != nil {
		p.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// snapshot is what a reproduction must leave alone in the user's checkout:
// HEAD and branch, the index's bytes, status, diffs, untracked files'
// contents, worktrees and stash.
func (p *project) snapshot() string {
	p.t.Helper()
	index, err := os.ReadFile(filepath.Join(p.dir, ".git", "index"))
	if err != nil {
		p.t.Fatal(err)
	}
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
		if n := strings.Count(p.git("worktree", "list", "--porcelain"), "worktree "); n != 1 {
			p.t.Errorf("%d worktrees:\n%s", n, p.git("worktree", "list"))
		}
		if out := p.git("worktree", "prune", "--dry-run", "--verbose"); out != "" {
			p.t.Errorf("git has stale worktree records:\n%s", out)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(p.dir, ".magelab", "reproduce")); err == nil && len(entries) > 0 {
		p.t.Errorf(".magelab/reproduce holds %d entries", len(entries))
	}
}
