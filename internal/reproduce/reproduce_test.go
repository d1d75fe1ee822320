package reproduce

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
)

// TestReproduceCleanRun reproduces an evaluated run of a clean tree: same
// stages, same keys, bit-identical metrics, the recorded thread count set
// again, the eval run with the eval params the run was evaluated with, the
// link and verdict recorded, and the project's stage cache left alone.
func TestReproduceCleanRun(t *testing.T) {
	f := newReproFixture(t)
	f.setEnv("OMP_NUM_THREADS=3")
	orig := f.train("")
	f.eval(orig.ID, "eval.factor=3") // the file says 2: the reproduction must use 3
	orig = f.record(orig.ID)
	cache := listTree(t, filepath.Join(f.root, ".magelab", "cache"))

	f.setEnv("OMP_NUM_THREADS=5")
	res, err := f.reproduce(orig.ID[len(orig.ID)-8:], Options{})
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, f.out.String())
	}
	run := f.record(res.Run.ID)
	if run.Reproduces != orig.ID || run.Verdict != VerdictReproduced || run.Status != record.StatusFinished {
		t.Fatalf("reproduces %q verdict %q status %s", run.Reproduces, run.Verdict, run.Status)
	}
	for name, v := range orig.Metrics {
		if run.Metrics[name] != v {
			t.Errorf("%s: %v, the original had %v", name, run.Metrics[name], v)
		}
	}
	if orig.Metrics["threads"] != 3 || orig.Metrics["test_score"] != 3*orig.Metrics["score"] {
		t.Fatalf("fixture: original metrics %v", orig.Metrics)
	}
	if got, want := stageKeys(run), stageKeys(orig); got != want {
		t.Errorf("stage keys %s, the original's %s", got, want)
	}
	if run.ParamsHash != orig.ParamsHash || run.ExperimentHash != orig.ExperimentHash {
		t.Errorf("params or experiment differ: %s/%s vs %s/%s", run.ParamsHash, run.ExperimentHash, orig.ParamsHash, orig.ExperimentHash)
	}
	if run.Env.Vars["OMP_NUM_THREADS"] != "3" {
		t.Errorf("recorded OMP_NUM_THREADS %q, want the run's 3", run.Env.Vars["OMP_NUM_THREADS"])
	}
	if run.Git == nil || run.Git.SHA != orig.Git.SHA || run.Git.Dirty || !run.Git.Worktree {
		t.Errorf("git stamp of the reproduction: %+v", run.Git)
	}
	for _, w := range []string{"OMP_NUM_THREADS=3 as the run had it (5 here)", "holds the run's requirements"} {
		if !strings.Contains(f.out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, f.out.String())
		}
	}
	if !slices.Equal(run.Warnings, orig.Warnings) {
		t.Errorf("warnings %q, the original had %q", run.Warnings, orig.Warnings)
	}
	if res.Comparison.Verdict() != VerdictReproduced || len(res.Comparison.Metrics) != 3 {
		t.Errorf("comparison %+v", res.Comparison)
	}
	if got := listTree(t, filepath.Join(f.root, ".magelab", "cache")); got != cache {
		t.Errorf("the project's stage cache changed:\n%s\nwas\n%s", got, cache)
	}
	ledger := f.read("runs/ledger.jsonl")
	for _, w := range []string{`"reproduces":"` + orig.ID + `"`, `"verdict":"reproduced"`} {
		if !strings.Contains(ledger, w) {
			t.Errorf("ledger lacks %s", w)
		}
	}
	f.noCheckoutLeft()
}

// TestReproduceDirtyTree reproduces a run made with a modified tracked file
// and a new untracked module the script imports, after the checkout moved
// on (a new commit, other uncommitted edits, another untracked file),
// which it leaves exactly as it was.
func TestReproduceDirtyTree(t *testing.T) {
	f := newReproFixture(t)
	f.write("python/model.py", "import helper\n\ndef fit(data, scale):\n    return sum(data) * scale + helper.BONUS\n")
	f.write("python/helper.py", "BONUS = 100\n")
	f.git("add", "python/model.py") // staged and unstaged changes both count
	f.write("python/train.py", toyTrain+"# a comment\n")
	orig := f.train("train.scale=3")
	if orig.Git.Patch == "" || len(orig.Git.Untracked) != 1 || orig.Metrics["score"] < 100 {
		t.Fatalf("fixture: git %+v metrics %v", orig.Git, orig.Metrics)
	}

	f.commit("model with a bonus")
	f.write("python/helper.py", "BONUS = 1000\n")
	f.commit("a bigger bonus")
	f.write("python/model.py", "def fit(data, scale):\n    return -1\n")
	f.write("python/notes.txt", "an untracked file of today\n")
	f.git("add", "python/notes.txt")
	f.write("python/scratch.py", "print('scratch')\n")
	before := f.snapshot()

	res, err := f.reproduce(orig.ID, Options{})
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, f.out.String())
	}
	run := f.record(res.Run.ID)
	if run.Verdict != VerdictReproduced || run.Metrics["score"] != orig.Metrics["score"] {
		t.Fatalf("verdict %q score %v, want %v\n%s", run.Verdict, run.Metrics["score"], orig.Metrics["score"], f.out.String())
	}
	if got, want := stageKeys(run), stageKeys(orig); got != want {
		t.Errorf("stage keys %s, the original's %s", got, want)
	}
	// The reproduction ran from the same code: its own stamp shows the same
	// commit, the same patch and the same untracked file.
	origPatch := f.read("runs/" + orig.ID + "/git.patch")
	if run.Git.SHA != orig.Git.SHA || run.Git.Patch == "" || f.read("runs/"+run.ID+"/git.patch") != origPatch {
		t.Errorf("reproduction's git stamp %+v; patch differs from the original's", run.Git)
	}
	if len(run.Git.Untracked) != 1 || run.Git.Untracked[0].Path != "python/helper.py" {
		t.Errorf("reproduction's untracked files: %+v", run.Git.Untracked)
	}
	if !strings.Contains(f.out.String(), "+ git.patch + 1 untracked file") {
		t.Errorf("output:\n%s", f.out.String())
	}
	if after := f.snapshot(); after != before {
		t.Errorf("the checkout changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
	f.noCheckoutLeft()
}

// TestReproduceDrift: a script that draws from os.urandom drifts; the
// verdict is recorded and the error carries the drift exit status. A
// tolerance wide enough lets it pass.
func TestReproduceDrift(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("train.noise=true")
	res, err := f.reproduce(orig.ID, Options{})
	var drift *DriftError
	if !errors.As(err, &drift) || drift.ExitStatus() != ExitDrifted || drift.Original != orig.ID {
		t.Fatalf("err %v, want a drift\n%s", err, f.out.String())
	}
	if len(drift.Drifted) != 1 || drift.Drifted[0] != "score" {
		t.Errorf("drifted %v", drift.Drifted)
	}
	run := f.record(res.Run.ID)
	if run.Verdict != VerdictDrifted || run.Status != record.StatusFinished || run.ExitCode != 0 {
		t.Errorf("verdict %q status %s exit %d", run.Verdict, run.Status, run.ExitCode)
	}
	if !strings.Contains(f.read("runs/ledger.jsonl"), `"verdict":"drifted"`) {
		t.Error("ledger lacks the verdict")
	}

	// score is about 30 plus noise in [0, 1): 10% covers any two draws.
	tol := 0.1
	if _, err := f.reproduce(orig.ID, Options{Tolerance: &tol}); err != nil {
		t.Errorf("with -tol=0.1: %v", err)
	}
	bad := -1.0
	if _, err := f.reproduce(orig.ID, Options{Tolerance: &bad}); err == nil || !strings.Contains(err.Error(), "-tol") {
		t.Errorf("negative tolerance: %v", err)
	}
	// The experiment's reproduce.tolerance applies when -tol is not given:
	// it is read from the run's commit, so commit it and train anew.
	f.write("experiments/toy.yaml", toyExperiment+"reproduce: {tolerance: 0.1}\n")
	f.commit("a tolerance")
	tolerant := f.train("train.noise=true")
	if _, err := f.reproduce(tolerant.ID, Options{}); err != nil {
		t.Errorf("with reproduce.tolerance: %v", err)
	}
	zero := 0.0
	if _, err := f.reproduce(tolerant.ID, Options{Tolerance: &zero}); !errors.As(err, &drift) {
		t.Errorf("-tol=0 over reproduce.tolerance: %v", err)
	}
	f.noCheckoutLeft()
}

// TestReproduceFreshEnv builds the run's environment from its package list
// in a temporary venv, runs on it and removes it.
func TestReproduceFreshEnv(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("")
	res, err := f.reproduce(orig.ID, Options{FreshEnv: true})
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, f.out.String())
	}
	run := f.record(res.Run.ID)
	reproDir := filepath.Join(f.root, ".magelab", "reproduce")
	if !strings.HasPrefix(run.Env.Python, reproDir) || run.Verdict != VerdictReproduced {
		t.Errorf("python %s verdict %q", run.Env.Python, run.Verdict)
	}
	if _, err := os.Stat(run.Env.Python); !os.IsNotExist(err) {
		t.Errorf("temporary venv %s not removed: %v", run.Env.Python, err)
	}
	if !strings.Contains(f.out.String(), "temporary venv") {
		t.Errorf("output:\n%s", f.out.String())
	}
	f.noCheckoutLeft()
}

// TestReproduceOtherVenv warns when the project venv holds other
// requirements than the run had, and reproduces on it all the same.
func TestReproduceOtherVenv(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("")
	orig.Env.RequirementsHash = "0123456789abcdef"
	f.writeRecord(orig)
	res, err := f.reproduce(orig.ID, Options{})
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, f.out.String())
	}
	if !strings.Contains(f.out.String(), "holds other requirements (hash") || !strings.Contains(f.out.String(), "-freshenv") {
		t.Errorf("no warning:\n%s", f.out.String())
	}
	if run := f.record(res.Run.ID); run.Verdict != VerdictReproduced {
		t.Errorf("verdict %q", run.Verdict)
	}
}

// TestReproduceInterrupted cancels a reproduction during its train stage,
// as Ctrl-C does: the run is recorded as interrupted and nothing is left.
func TestReproduceInterrupted(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("")
	// The same code sleeps when its params say so: edit the run's record
	// and params as if it had been made with train.sleep=true.
	slow := f.experiment("train.sleep=true").Params
	orig.Params, orig.ParamsHash = slow, slow.Hash()
	f.writeRecord(orig)
	if err := os.WriteFile(filepath.Join(f.root, "runs", orig.ID, "params.json"), slow.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(f.root, "runs", "*", "pids")); len(m) > 0 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	res, err := Run(ctx, f.project().Project, orig.ID, Options{})
	var se *runner.StageError
	if !errors.As(err, &se) || se.ExitStatus() != proc.ExitInterrupted {
		t.Fatalf("err %v, want an interrupted stage\n%s", err, f.out.String())
	}
	run := f.record(res.Run.ID)
	if run.Status != record.StatusInterrupted || run.Reproduces != orig.ID || run.Verdict != "" {
		t.Errorf("status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	}
	f.noCheckoutLeft()
}

func stageKeys(r *record.Run) string {
	var keys []string
	for _, s := range r.Stages {
		keys = append(keys, s.Name+"="+s.Key[:12])
	}
	return strings.Join(keys, " ")
}

// listTree lists the files under dir with their sizes and mtimes.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(p + " " + info.ModTime().String() + "\n")
		}
		return nil
	})
	return b.String()
}

// TestReproduceCancelledEarly: Ctrl-C before the stages start (during a
// git call, say) is an interruption too, and leaves nothing.
func TestReproduceCancelledEarly(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, f.project().Project, orig.ID, Options{})
	var ie *proc.InterruptedError
	if !errors.As(err, &ie) || ie.ExitStatus() != proc.ExitInterrupted {
		t.Fatalf("err %v, want an interruption", err)
	}
	f.noCheckoutLeft()
}

// TestReproduceSweepTrial: the thread caps a sweep gives a trial
// (TrainOptions.Env) are recorded with the run, so its reproduction sets
// them again.
func TestReproduceSweepTrial(t *testing.T) {
	f := newReproFixture(t)
	res, err := f.project().Train(context.Background(), f.experiment(""), runner.TrainOptions{Force: true, RunOptions: runner.RunOptions{SweepID: "5e1f0c3a9b2d", Env: []string{"OMP_NUM_THREADS=2"}}})
	if err != nil {
		t.Fatalf("train: %v\n%s", err, f.out.String())
	}
	trial := res.Run
	if trial.Env.Vars["OMP_NUM_THREADS"] != "2" || trial.Metrics["threads"] != 2 {
		t.Fatalf("trial recorded OMP_NUM_THREADS=%q, ran with %v", trial.Env.Vars["OMP_NUM_THREADS"], trial.Metrics["threads"])
	}
	rep, err := f.reproduce(trial.ID, Options{})
	if err != nil {
		t.Fatalf("reproduce: %v\n%s", err, f.out.String())
	}
	if run := f.record(rep.Run.ID); run.Metrics["threads"] != 2 || run.Verdict != VerdictReproduced {
		t.Errorf("threads %v verdict %q", run.Metrics["threads"], run.Verdict)
	}
}
