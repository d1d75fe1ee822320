package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/search"
)

// curveTrain is a train script with a curve: it logs loss at steps
// 1..steps to metrics.jsonl, napping between them ($NAP, when set, wins
// over train.nap), and writes its pid first. A "smooth" point's loss
// falls towards the distance of (x, y) from (0.3, 0.7); a "good" one
// falls to 0.1 (all alike, so that none is behind another), a "bad" one
// plateaus at 2. SIGINT is recorded in out/sigint.txt before it exits.
const curveTrain = `import json, os, signal, sys, time
p = json.load(open(sys.argv[sys.argv.index("--params") + 1]))["train"]
out = sys.argv[sys.argv.index("--out") + 1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "pid"), "w").write(str(os.getpid()))
def on_int(sig, frame):
    open(os.path.join(out, "sigint.txt"), "w").write(repr(time.time()))
    sys.exit(130)
signal.signal(signal.SIGINT, on_int)
nap = float(os.environ.get("NAP", p["nap"]))
target = (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2
with open(os.path.join(out, "metrics.jsonl"), "a") as f:
    for step in range(1, p["steps"] + 1):
        if p["kind"] == "bad":
            loss = 2.0 + 0.5 / step
        elif p["kind"] == "good":
            loss = 0.1 + 1.0 / step
        else:
            loss = target + 1.0 / step
        f.write(json.dumps({"step": step, "loss": loss, "t": time.time()}) + "\n")
        f.flush()
        time.sleep(nap)
json.dump({"loss": loss}, open(os.path.join(out, "metrics.json"), "w"))
`

var (
	optunaOnce sync.Once
	optunaDir  string
	optunaErr  error
)

// optunaVenv builds the Optuna helper's venv once per machine (as the
// search package's tests do) and returns the variable that points magelab
// at it, so that no temporary project builds its own.
func optunaVenv(t *testing.T) string {
	t.Helper()
	optunaOnce.Do(func() {
		optunaDir = os.Getenv("MAGELAB_OPTUNA_VENV")
		if optunaDir == "" {
			optunaDir = filepath.Join(repoRoot, ".cache", "test-venv-optuna")
		}
		_, _, optunaErr = search.EnsureVenv(context.Background(), search.Venv(optunaDir, "", ""), os.Stderr)
	})
	require.NoError(t, optunaErr)
	return "MAGELAB_OPTUNA_VENV=" + optunaDir
}

// curveProject is a project with the curve script and experiment "opt"
// whose sweep block is sweep (with its indent).
func curveProject(t *testing.T, sweep string) *project {
	p := newProject(t)
	p.write("python/curve/train.py", curveTrain)
	p.write("experiments/opt.yaml", "name: opt\nrequirements: [python/requirements.txt]\nstages:\n  train: python/curve/train.py\nseed: 5\n"+
		"train: {x: 0.5, y: 0.5, kind: smooth, steps: 3, nap: 0.005}\nsweep:\n"+sweep)
	p.env = []string{noGPU(t), optunaVenv(t)}
	return p
}

const tpeSweep = "  method: tpe\n  trials: 12\n  metric: loss\n  goal: minimize\n  parameters:\n" +
	"    train.x: {min: 0.0, max: 1.0}\n    train.y: {min: 0.0, max: 1.0}\n"

var proposalLine = regexp.MustCompile(`(?m)^\s+\d+  (train\.x=\S+ train\.y=\S+)$`)

// pointsInOrder is the points of a sweep's runs in the order they started,
// as -set labels.
func pointsInOrder(t *testing.T, p *project, id string) []string {
	t.Helper()
	runs := sweepRuns(t, p, id)
	sort.Slice(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	var out []string
	for _, r := range runs {
		out = append(out, label(r.Params))
	}
	return out
}

func label(params map[string]any) string {
	return "train.x=" + strconv.FormatFloat(params["train.x"].(float64), 'g', -1, 64) +
		" train.y=" + strconv.FormatFloat(params["train.y"].(float64), 'g', -1, 64)
}

// TestSweepTPESameSeed: a 12-trial TPE sweep on a real objective lists its
// first proposals with -dry, runs exactly those first, and proposes the
// same 12 points again from scratch with the same seed (one slot: every
// ask comes after the same results).
func TestSweepTPESameSeed(t *testing.T) {
	p := curveProject(t, tpeSweep+"  parallel: 1\n")
	dry := p.mustMage("sweep", "-exp=opt", "-dry")
	mustContain(t, dry.out, "tpe (seed 5)", "the first 10 proposals")
	var listed []string
	for _, m := range proposalLine.FindAllStringSubmatch(dry.out, -1) {
		listed = append(listed, m[1])
	}
	require.Len(t, listed, 10, dry.out)
	_, err := os.Stat(filepath.Join(p.dir, "runs"))
	assert.True(t, os.IsNotExist(err), "-dry records nothing")

	r := p.mustMage("sweep", "-exp=opt")
	id := sweepID(t, r.out)
	mustContain(t, r.out, "12 trials of opt, tpe (seed 5)", "optuna-dashboard runs/sweeps/"+id+"/optuna.journal", "best: trial ")
	first := pointsInOrder(t, p, id)
	require.Len(t, first, 12)
	assert.Equal(t, listed, first[:10], "the run proposes what -dry listed")
	assert.FileExists(t, filepath.Join(p.dir, "runs", "sweeps", id, "optuna.journal"))

	again := curveProject(t, tpeSweep+"  parallel: 1\n")
	again.mustMage("sweep", "-exp=opt")
	assert.Equal(t, first, pointsInOrder(t, again, id), "the same seed proposes the same points")

	r = p.mustMage("sweep", "-exp=opt")
	mustContain(t, r.out, "0 trials of opt", "12 of 12 spent")
	assert.Len(t, sweepRuns(t, p, id), 12, "a finished study runs nothing more")
}

// TestSweepTPEResumesAfterKill kills magelab with SIGKILL while two TPE
// trials run: the same command then runs the crashed points again first
// and finishes the budget, with no finished point run twice.
func TestSweepTPEResumesAfterKill(t *testing.T) {
	p := curveProject(t, tpeSweep+"  parallel: 2\n")
	p.env = append(p.env, "NAP=0.15")
	cmd := p.command(magelabBin, "sweep", "-exp=opt")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	l := ledger.Open(filepath.Join(p.dir, "runs"))
	var finishedBefore map[string]bool
	var running []record.Summary
	require.Eventually(t, func() bool {
		runs, _, _ := l.Summaries()
		finishedBefore, running = map[string]bool{}, nil
		for _, s := range runs {
			switch s.Status {
			case record.StatusFinished:
				finishedBefore[label(s.Params)] = true
			case record.StatusRunning:
				running = append(running, s)
			}
		}
		return len(finishedBefore) >= 4 && len(running) == 2
	}, 2*time.Minute, 20*time.Millisecond, "no 4 trials finished with 2 running:\n%s", &out)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for _, r := range running {
		if b, err := os.ReadFile(filepath.Join(p.dir, "runs", r.ID, "out", "pid")); err == nil {
			pid, _ := strconv.Atoi(string(b))
			waitGone(t, pid) // the trials die with magelab
		}
	}

	p.env = p.env[:len(p.env)-1]
	r := p.mustMage("sweep", "-exp=opt")
	mustContain(t, r.out, "of 12 spent")
	finished := map[string]int{}
	for _, s := range sweepRuns(t, p, sweepID(t, r.out)) {
		if s.Status == record.StatusFinished {
			finished[label(s.Params)]++
		}
	}
	assert.Len(t, finished, 12, "the budget is 12 finished trials")
	for pt, n := range finished {
		assert.Equal(t, 1, n, "%s finished %d times", pt, n)
	}
	for _, s := range running {
		assert.Equal(t, 1, finished[label(s.Params)], "the crashed point %s ran again", label(s.Params))
	}
}

// ashaSweep is a grid of 5 good and 5 bad points (the good ones first),
// each 10 steps long, pruned by ASHA on loss.
const ashaSweep = "  method: grid\n  metric: loss\n  goal: minimize\n  parallel: 2\n  parameters:\n" +
	"    train.kind: [good, bad]\n    train.x: [0.1, 0.2, 0.3, 0.4, 0.5]\n" +
	"  early_stop: {method: asha, min_steps: 1, reduction_factor: 3}\n"

// TestSweepASHAPrunesBadTrials: ASHA stops every trial whose curve
// plateaus high and never a good one; a pruned trial's process got SIGINT,
// stopped within the grace period (no SIGKILL) and is gone; the run is
// recorded as pruned at its step, and the table shows it, never as best.
func TestSweepASHAPrunesBadTrials(t *testing.T) {
	p := curveProject(t, ashaSweep)
	p.write("experiments/opt.yaml", strings.Replace(p.read("experiments/opt.yaml"), "steps: 3, nap: 0.005", "steps: 10, nap: 0.05", 1))
	dry := p.mustMage("sweep", "-exp=opt", "-dry")
	mustContain(t, dry.out, "10 trials on 2 slots", "grid, early stop: asha on loss from step 1")
	jobSummary := filepath.Join(t.TempDir(), "summary.md")
	p.env = append(p.env, "GITHUB_STEP_SUMMARY="+jobSummary)
	r := p.mustMage("sweep", "-exp=opt")
	id := sweepID(t, r.out)
	mustContain(t, r.out, "pruned at step")
	mustContain(t, p.readAbs(jobSummary), "| pruned at step 1 |", "best: trial ")
	var pruned, finished int
	for _, s := range sweepRuns(t, p, id) {
		kind := s.Params["train.kind"]
		switch s.Status {
		case record.StatusPruned:
			pruned++
			assert.Equal(t, "bad", kind, "run %s: a good trial was pruned", s.ID)
			require.NotNil(t, s.PrunedStep)
			assert.Less(t, *s.PrunedStep, 10)
			rec, err := ledger.Open(filepath.Join(p.dir, "runs")).ReadRecord(s.ID)
			require.NoError(t, err)
			assert.Equal(t, s.PrunedStep, rec.PrunedStep)
			train, _ := rec.Stage("train")
			assert.NotEqual(t, "killed", train.Signal, "run %s needed SIGKILL: it outlived the grace period", s.ID)
			assert.FileExists(t, filepath.Join(p.dir, "runs", s.ID, "out", "sigint.txt"), "the pruned trial got SIGINT")
			b, err := os.ReadFile(filepath.Join(p.dir, "runs", s.ID, "out", "pid"))
			require.NoError(t, err)
			pid, _ := strconv.Atoi(string(b))
			assert.Equal(t, syscall.ESRCH, syscall.Kill(pid, 0), "pruned trial's process %d is left behind", pid)
		case record.StatusFinished:
			finished++
			assert.Equal(t, "good", kind)
		default:
			t.Errorf("run %s: status %s", s.ID, s.Status)
		}
	}
	assert.Equal(t, 5, pruned)
	assert.Equal(t, 5, finished)
	assert.Regexp(t, `best: trial [1-5], `, r.out, "a good trial is the best")

	r = p.mustMage("sweep", "-exp=opt")
	mustContain(t, r.out, "5 trials of opt", "pruned at step 1 (earlier)")
	assert.Len(t, sweepRuns(t, p, id), 10, "a resumed sweep reuses the finished trials and keeps early stopping's decisions")
	list := p.mustMage("runs", "-sweep="+id, "-limit=0")
	assert.Equal(t, 5, strings.Count(list.out, "pruned"), list.out)
}

// TestSweepEarlyStopWarnsOnce: when trials log no step of the pruner's
// metric, the sweep says so once, naming the metric.
func TestSweepEarlyStopWarnsOnce(t *testing.T) {
	p := curveProject(t, "  metric: loss\n  goal: minimize\n  parameters:\n    train.x: [0.1, 0.2, 0.3]\n"+
		"  early_stop: {method: median, metric: val_acc, goal: maximize, warmup_trials: 0}\n")
	r := p.mustMage("sweep", "-exp=opt", "-parallel=1")
	assert.Equal(t, 1, strings.Count(r.out, "wrote no step of val_acc"), r.out)
	mustContain(t, r.out, `{"step": N, "val_acc": value}`)
}

// TestSweepHelperDies kills the Optuna helper while two trials run: the
// sweep stops them (recorded as interrupted, their processes gone), fails
// with the helper's end and the journal's path, and the same command
// resumes the study from that journal.
func TestSweepHelperDies(t *testing.T) {
	p := curveProject(t, strings.Replace(tpeSweep, "trials: 12", "trials: 4", 1)+"  parallel: 2\n")
	p.write("experiments/opt.yaml", strings.Replace(p.read("experiments/opt.yaml"), "steps: 3", "steps: 400", 1))
	p.env = append(p.env, "NAP=0.1")
	cmd := p.command(magelabBin, "sweep", "-exp=opt")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	l := ledger.Open(filepath.Join(p.dir, "runs"))
	var running []record.Summary
	require.Eventually(t, func() bool {
		runs, _, _ := l.Summaries()
		running = running[:0]
		for _, s := range runs {
			if s.Status == record.StatusRunning {
				running = append(running, s)
			}
		}
		return len(running) == 2
	}, time.Minute, 20*time.Millisecond, "two trials did not start:\n%s", &out)
	helper := findHelper(t, cmd.Process.Pid)
	require.NoError(t, syscall.Kill(helper, syscall.SIGKILL))
	require.Error(t, cmd.Wait())
	assert.Equal(t, 1, cmd.ProcessState.ExitCode(), out.String())
	mustContain(t, out.String(), "optuna helper: exited (signal: killed)", "the study is intact in ", "run the same command again to resume")
	for _, s := range running {
		assert.Equal(t, record.StatusInterrupted, summary(t, l, s.ID).Status)
		if b, err := os.ReadFile(filepath.Join(p.dir, "runs", s.ID, "out", "pid")); err == nil {
			pid, _ := strconv.Atoi(string(b))
			waitGone(t, pid)
		}
	}

	p.env = append(p.env[:len(p.env)-1], "NAP=0.001")
	r := p.mustMage("sweep", "-exp=opt")
	mustContain(t, r.out, "4 trials of opt, tpe (seed 5), 0 of 4 spent")
	finished := 0
	for _, s := range sweepRuns(t, p, sweepID(t, r.out)) {
		if s.Status == record.StatusFinished {
			finished++
		}
	}
	assert.Equal(t, 4, finished)
}

// findHelper is the pid of the Optuna helper among magelab's descendants.
func findHelper(t *testing.T, magelab int) int {
	t.Helper()
	for _, d := range proc.Descendants(magelab) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(d.PID) + "/cmdline")
		if strings.Contains(string(b), "magelab-optuna-helper.py") {
			return d.PID
		}
	}
	t.Fatal("no optuna helper below magelab")
	return 0
}

// TestSweepPlanRefusesTPE: a GitHub Actions matrix is fixed in advance, so
// -plan refuses an adaptive method with a clear message.
func TestSweepPlanRefusesTPE(t *testing.T) {
	p := curveProject(t, tpeSweep)
	r := p.mage("sweep", "-exp=opt", "-plan", "-format=github")
	assert.Equal(t, 1, r.code, r.out)
	mustContain(t, r.out, "method tpe cannot be planned as a GitHub Actions matrix", "a matrix is fixed in advance")
}

// TestSweepTPEOnGPUs: a TPE sweep keeps one trial per GPU on a (fake)
// four-GPU machine, each run recording only its own GPU.
func TestSweepTPEOnGPUs(t *testing.T) {
	p := curveProject(t, strings.Replace(tpeSweep, "trials: 12", "trials: 8", 1))
	p.env = append(p.env[1:], fourGPUs(t), "NAP=0.1")
	r := p.mustMage("sweep", "-exp=opt")
	id := sweepID(t, r.out)
	mustContain(t, r.out, "8 trials of opt, tpe (seed 5), 0 of 8 spent, on 4 slots (gpu 0; gpu 1; gpu 2; gpu 3)")
	runs := sweepRuns(t, p, id)
	require.Len(t, runs, 8)
	used := map[int]int{}
	for _, s := range runs {
		run := p.readRun(s.ID)
		require.Equal(t, record.StatusFinished, run.Status)
		require.NotNil(t, run.GPU)
		require.Len(t, run.GPU.Devices, 1, "run %s sampled other trials' GPUs", s.ID)
		used[run.GPU.Devices[0].Index]++
	}
	assert.Len(t, used, 4, "every GPU took trials: %v", used)
}
