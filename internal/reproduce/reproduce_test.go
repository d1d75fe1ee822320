package reproduce

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.NoError(t, err, "reproduce: %v\n%s", err, f.out.String())
	run := f.record(res.Run.ID)
	require.Equal(t, orig.ID, run.Reproduces, "reproduces %q verdict %q status %s", run.Reproduces, run.Verdict, run.Status)
	require.Equal(t, VerdictReproduced, run.Verdict, "reproduces %q verdict %q status %s", run.Reproduces, run.Verdict, run.Status)
	require.Equal(t, record.StatusFinished, run.Status, "reproduces %q verdict %q status %s", run.Reproduces, run.Verdict, run.Status)
	for name, v := range orig.Metrics {
		assert.Equal(t, v, run.Metrics[name], "%s: %v, the original had %v", name, run.Metrics[name], v)
	}
	require.Equal(t, 3.0, orig.Metrics["threads"], "fixture: original metrics %v", orig.Metrics)
	require.Equal(t, 3*orig.Metrics["score"], orig.Metrics["test_score"], "fixture: original metrics %v", orig.Metrics)
	got, want := stageKeys(run), stageKeys(orig)
	assert.Equal(t, want, got, "stage keys %s, the original's %s", got, want)
	assert.Equal(t, orig.ParamsHash, run.ParamsHash, "params or experiment differ: %s/%s vs %s/%s", run.ParamsHash, run.ExperimentHash, orig.ParamsHash, orig.ExperimentHash)
	assert.Equal(t, orig.ExperimentHash, run.ExperimentHash, "params or experiment differ: %s/%s vs %s/%s", run.ParamsHash, run.ExperimentHash, orig.ParamsHash, orig.ExperimentHash)
	assert.Equal(t, "3", run.Env.Vars["OMP_NUM_THREADS"], "recorded OMP_NUM_THREADS %q, want the run's 3", run.Env.Vars["OMP_NUM_THREADS"])
	if assert.NotNil(t, run.Git, "git stamp of the reproduction: %+v", run.Git) {
		assert.Equal(t, orig.Git.SHA, run.Git.SHA, "git stamp of the reproduction: %+v", run.Git)
		assert.False(t, run.Git.Dirty, "git stamp of the reproduction: %+v", run.Git)
		assert.True(t, run.Git.Worktree, "git stamp of the reproduction: %+v", run.Git)
	}
	for _, w := range []string{"OMP_NUM_THREADS=3 as the run had it (5 here)", "holds the run's requirements"} {
		assert.Contains(t, f.out.String(), w, "output lacks %q:\n%s", w, f.out.String())
	}
	assert.Equal(t, orig.Warnings, run.Warnings, "warnings %q, the original had %q", run.Warnings, orig.Warnings)
	assert.Equal(t, VerdictReproduced, res.Comparison.Verdict(), "comparison %+v", res.Comparison)
	assert.Len(t, res.Comparison.Metrics, 3, "comparison %+v", res.Comparison)
	tree := listTree(t, filepath.Join(f.root, ".magelab", "cache"))
	assert.Equal(t, cache, tree, "the project's stage cache changed:\n%s\nwas\n%s", tree, cache)
	ledger := f.read("runs/ledger.jsonl")
	for _, w := range []string{`"reproduces":"` + orig.ID + `"`, `"verdict":"reproduced"`} {
		assert.Contains(t, ledger, w, "ledger lacks %s", w)
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
	require.NotEmpty(t, orig.Git.Patch, "fixture: git %+v metrics %v", orig.Git, orig.Metrics)
	require.Len(t, orig.Git.Untracked, 1, "fixture: git %+v metrics %v", orig.Git, orig.Metrics)
	require.GreaterOrEqual(t, orig.Metrics["score"], 100.0, "fixture: git %+v metrics %v", orig.Git, orig.Metrics)

	f.commit("model with a bonus")
	f.write("python/helper.py", "BONUS = 1000\n")
	f.commit("a bigger bonus")
	f.write("python/model.py", "def fit(data, scale):\n    return -1\n")
	f.write("python/notes.txt", "an untracked file of today\n")
	f.git("add", "python/notes.txt")
	f.write("python/scratch.py", "print('scratch')\n")
	before := f.snapshot()

	res, err := f.reproduce(orig.ID, Options{})
	require.NoError(t, err, "reproduce: %v\n%s", err, f.out.String())
	run := f.record(res.Run.ID)
	require.Equal(t, VerdictReproduced, run.Verdict, "verdict %q score %v, want %v\n%s", run.Verdict, run.Metrics["score"], orig.Metrics["score"], f.out.String())
	require.Equal(t, orig.Metrics["score"], run.Metrics["score"], "verdict %q score %v, want %v\n%s", run.Verdict, run.Metrics["score"], orig.Metrics["score"], f.out.String())
	got, want := stageKeys(run), stageKeys(orig)
	assert.Equal(t, want, got, "stage keys %s, the original's %s", got, want)
	// The reproduction ran from the same code: its own stamp shows the same
	// commit, the same patch and the same untracked file.
	origPatch := f.read("runs/" + orig.ID + "/git.patch")
	assert.Equal(t, orig.Git.SHA, run.Git.SHA, "reproduction's git stamp %+v; patch differs from the original's", run.Git)
	if assert.NotEmpty(t, run.Git.Patch, "reproduction's git stamp %+v; patch differs from the original's", run.Git) {
		assert.Equal(t, origPatch, f.read("runs/"+run.ID+"/git.patch"), "reproduction's git stamp %+v; patch differs from the original's", run.Git)
	}
	if assert.Len(t, run.Git.Untracked, 1, "reproduction's untracked files: %+v", run.Git.Untracked) {
		assert.Equal(t, "python/helper.py", run.Git.Untracked[0].Path, "reproduction's untracked files: %+v", run.Git.Untracked)
	}
	assert.Contains(t, f.out.String(), "+ git.patch + 1 untracked file", "output:\n%s", f.out.String())
	after := f.snapshot()
	assert.Equal(t, before, after, "the checkout changed:\n--- before\n%s\n--- after\n%s", before, after)
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
	require.ErrorAs(t, err, &drift, "err %v, want a drift\n%s", err, f.out.String())
	require.Equal(t, ExitDrifted, drift.ExitStatus(), "err %v, want a drift\n%s", err, f.out.String())
	require.Equal(t, orig.ID, drift.Original, "err %v, want a drift\n%s", err, f.out.String())
	assert.Equal(t, []string{"score"}, drift.Drifted, "drifted %v", drift.Drifted)
	run := f.record(res.Run.ID)
	assert.Equal(t, VerdictDrifted, run.Verdict, "verdict %q status %s exit %d", run.Verdict, run.Status, run.ExitCode)
	assert.Equal(t, record.StatusFinished, run.Status, "verdict %q status %s exit %d", run.Verdict, run.Status, run.ExitCode)
	assert.Equal(t, 0, run.ExitCode, "verdict %q status %s exit %d", run.Verdict, run.Status, run.ExitCode)
	assert.Contains(t, f.read("runs/ledger.jsonl"), `"verdict":"drifted"`, "ledger lacks the verdict")

	// score is about 30 plus noise in [0, 1): 10% covers any two draws.
	tol := 0.1
	_, err = f.reproduce(orig.ID, Options{Tolerance: &tol})
	assert.NoError(t, err, "with -tol=0.1: %v", err)
	bad := -1.0
	_, err = f.reproduce(orig.ID, Options{Tolerance: &bad})
	assert.ErrorContains(t, err, "-tol", "negative tolerance: %v", err)
	// The experiment's reproduce.tolerance applies when -tol is not given:
	// it is read from the run's commit, so commit it and train anew.
	f.write("experiments/toy.yaml", toyExperiment+"reproduce: {tolerance: 0.1}\n")
	f.commit("a tolerance")
	tolerant := f.train("train.noise=true")
	_, err = f.reproduce(tolerant.ID, Options{})
	assert.NoError(t, err, "with reproduce.tolerance: %v", err)
	zero := 0.0
	_, err = f.reproduce(tolerant.ID, Options{Tolerance: &zero})
	assert.ErrorAs(t, err, &drift, "-tol=0 over reproduce.tolerance: %v", err)
	f.noCheckoutLeft()
}

// TestReproduceFreshEnv builds the run's environment from its package list
// in a temporary venv, runs on it and removes it.
func TestReproduceFreshEnv(t *testing.T) {
	f := newReproFixture(t)
	orig := f.train("")
	res, err := f.reproduce(orig.ID, Options{FreshEnv: true})
	require.NoError(t, err, "reproduce: %v\n%s", err, f.out.String())
	run := f.record(res.Run.ID)
	reproDir := filepath.Join(f.root, ".magelab", "reproduce")
	assert.True(t, strings.HasPrefix(run.Env.Python, reproDir), "python %s verdict %q", run.Env.Python, run.Verdict)
	assert.Equal(t, VerdictReproduced, run.Verdict, "python %s verdict %q", run.Env.Python, run.Verdict)
	_, err = os.Stat(run.Env.Python)
	assert.ErrorIs(t, err, fs.ErrNotExist, "temporary venv %s not removed: %v", run.Env.Python, err)
	assert.Contains(t, f.out.String(), "temporary venv", "output:\n%s", f.out.String())
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
	require.NoError(t, err, "reproduce: %v\n%s", err, f.out.String())
	assert.Contains(t, f.out.String(), "holds other requirements (hash", "no warning:\n%s", f.out.String())
	assert.Contains(t, f.out.String(), "-freshenv", "no warning:\n%s", f.out.String())
	run := f.record(res.Run.ID)
	assert.Equal(t, VerdictReproduced, run.Verdict, "verdict %q", run.Verdict)
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
	require.NoError(t, os.WriteFile(filepath.Join(f.root, "runs", orig.ID, "params.json"), slow.JSON(), 0o644))
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
	require.ErrorAs(t, err, &se, "err %v, want an interrupted stage\n%s", err, f.out.String())
	require.Equal(t, proc.ExitInterrupted, se.ExitStatus(), "err %v, want an interrupted stage\n%s", err, f.out.String())
	run := f.record(res.Run.ID)
	assert.Equal(t, record.StatusInterrupted, run.Status, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	assert.Equal(t, orig.ID, run.Reproduces, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
	assert.Empty(t, run.Verdict, "status %s reproduces %q verdict %q", run.Status, run.Reproduces, run.Verdict)
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
	require.ErrorAs(t, err, &ie, "err %v, want an interruption", err)
	require.Equal(t, proc.ExitInterrupted, ie.ExitStatus(), "err %v, want an interruption", err)
	f.noCheckoutLeft()
}

// TestReproduceSweepTrial: the thread caps a sweep gives a trial
// (TrainOptions.Env) are recorded with the run, so its reproduction sets
// them again.
func TestReproduceSweepTrial(t *testing.T) {
	f := newReproFixture(t)
	res, err := f.project().Train(context.Background(), f.experiment(""), runner.TrainOptions{Force: true, RunOptions: runner.RunOptions{SweepID: "5e1f0c3a9b2d", Env: []string{"OMP_NUM_THREADS=2"}}})
	require.NoError(t, err, "train: %v\n%s", err, f.out.String())
	trial := res.Run
	require.Equal(t, "2", trial.Env.Vars["OMP_NUM_THREADS"], "trial recorded OMP_NUM_THREADS=%q, ran with %v", trial.Env.Vars["OMP_NUM_THREADS"], trial.Metrics["threads"])
	require.Equal(t, 2.0, trial.Metrics["threads"], "trial recorded OMP_NUM_THREADS=%q, ran with %v", trial.Env.Vars["OMP_NUM_THREADS"], trial.Metrics["threads"])
	rep, err := f.reproduce(trial.ID, Options{})
	require.NoError(t, err, "reproduce: %v\n%s", err, f.out.String())
	run := f.record(rep.Run.ID)
	assert.Equal(t, 2.0, run.Metrics["threads"], "threads %v verdict %q", run.Metrics["threads"], run.Verdict)
	assert.Equal(t, VerdictReproduced, run.Verdict, "threads %v verdict %q", run.Metrics["threads"], run.Verdict)
}
