package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sweepTrain is a train command that logs what its process saw (trial x,
// start and end times, CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS, pid) to
// $SWEEP_LOG, naps, and prints its score; it fails when x is in $FAIL_ON,
// and naps $SLOW_NAP seconds instead when x ≥ $SLOW_FROM.
const sweepTrain = `import os, sys, time
x, nap = int(sys.argv[1]), float(sys.argv[2])
if x >= int(os.environ.get("SLOW_FROM", "1000000")):
    nap = float(os.environ["SLOW_NAP"])
def log(line):
    with open(os.environ["SWEEP_LOG"], "a") as f:
        f.write(line + "\n")
log(f"start {x} {time.time_ns()} gpu={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')} omp={os.environ.get('OMP_NUM_THREADS', 'unset')} pid={os.getpid()}")
time.sleep(nap)
fail = os.environ.get("FAIL_ON", "")
if fail == "all" or str(x) in fail.split(","):
    log(f"fail {x} {time.time_ns()}")
    sys.exit(3)
log(f"end {x} {time.time_ns()}")
print(f"score={x / 10}")
`

// sweepData is a data stage that logs each time it runs, slowly enough that
// concurrent trials would all start it if nothing stopped them.
const sweepData = `import os, sys, time
with open(os.environ["SWEEP_LOG"], "a") as f:
    f.write(f"data {os.getpid()}\n")
time.sleep(1)
open(os.path.join(sys.argv[1], "data.txt"), "w").write("ok")
`

// sweepProject is a project with the sweep experiment "sw": trials x=1..n
// that each nap, plus extra lines for its sweep block.
func sweepProject(t *testing.T, n int, nap float64, sweepExtra string) (*project, string) {
	p := newProject(t)
	p.write("python/sw/train.py", sweepTrain)
	p.write("python/sw/data.py", sweepData)
	xs := make([]string, n)
	for i := range xs {
		xs[i] = strconv.Itoa(i + 1)
	}
	p.write("experiments/sw.yaml", "name: sw\nrequirements: [python/requirements.txt]\nstages:\n"+
		"  setup-data: {cmd: \"python python/sw/data.py ${out}\"}\n"+
		"  train: {cmd: \"python python/sw/train.py ${train.x} ${train.nap}\"}\n"+
		"train: {x: 0, nap: "+strconv.FormatFloat(nap, 'f', -1, 64)+"}\n"+
		"sweep:\n  parameters:\n    train.x: ["+strings.Join(xs, ", ")+"]\n  metric: score\n  goal: maximize\n"+sweepExtra)
	log := filepath.Join(t.TempDir(), "sweep.log")
	p.env = []string{"SWEEP_LOG=" + log}
	return p, log
}

// noGPU puts an nvidia-smi that fails first on PATH: a machine without GPUs.
func noGPU(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n"), 0o755)
	return "PATH=" + dir + ":" + os.Getenv("PATH")
}

// fourGPUs puts the fake four-GPU nvidia-smi first on PATH.
func fourGPUs(t *testing.T) string {
	dir := t.TempDir()
	script := strings.NewReplacer("%DATA%", filepath.Join(repoRoot, "internal/gpu/testdata"), "%DIR%", dir).Replace(fakeSMIScript)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755))
	return "PATH=" + dir + ":" + os.Getenv("PATH")
}

// trialLog is what the trial processes wrote to $SWEEP_LOG.
type trialLog struct {
	data   int // data stage runs
	starts map[int][]trialSeen
	fails  map[int]int
}

type trialSeen struct {
	gpu, omp   string
	pid        int
	start, end int64 // ns; end 0 when it did not end normally
}

var startLine = regexp.MustCompile(`^start (\d+) (\d+) gpu=(\S*) omp=(\S+) pid=(\d+)$`)

func readTrialLog(t *testing.T, path string) trialLog {
	t.Helper()
	l := trialLog{starts: map[int][]trialSeen{}, fails: map[int]int{}}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return l
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case fields[0] == "data":
			l.data++
		case fields[0] == "start":
			m := startLine.FindStringSubmatch(line)
			require.NotNil(t, m, "log line %q", line)
			x, _ := strconv.Atoi(m[1])
			ns, _ := strconv.ParseInt(m[2], 10, 64)
			pid, _ := strconv.Atoi(m[5])
			l.starts[x] = append(l.starts[x], trialSeen{gpu: m[3], omp: m[4], pid: pid, start: ns})
		case fields[0] == "end":
			x, _ := strconv.Atoi(fields[1])
			ns, _ := strconv.ParseInt(fields[2], 10, 64)
			s := l.starts[x]
			s[len(s)-1].end = ns
		case fields[0] == "fail":
			x, _ := strconv.Atoi(fields[1])
			l.fails[x]++
		}
	}
	return l
}

// peak is the most trials that ran at once, among those for which keep says yes.
func (l trialLog) peak(keep func(trialSeen) bool) int {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, seen := range l.starts {
		for _, s := range seen {
			if s.end > 0 && keep(s) {
				edges = append(edges, edge{s.start, 1}, edge{s.end, -1})
			}
		}
	}
	// Ends sort before starts at the same instant.
	for i := range edges {
		for j := i + 1; j < len(edges); j++ {
			if edges[j].at < edges[i].at || (edges[j].at == edges[i].at && edges[j].delta < edges[i].delta) {
				edges[i], edges[j] = edges[j], edges[i]
			}
		}
	}
	now, most := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	return most
}

func sweepRuns(t *testing.T, p *project, id string) []record.Summary {
	t.Helper()
	runs, warnings, err := query.List(ledger.Open(filepath.Join(p.dir, "runs")), query.Query{SweepID: id})
	require.NoError(t, err, "list sweep %s: %v %q", id, err, warnings)
	require.Empty(t, warnings, "list sweep %s: %v %q", id, err, warnings)
	return runs
}

var sweepIDLine = regexp.MustCompile(`sweep ([0-9a-f]{12}): `)

func sweepID(t *testing.T, out string) string {
	t.Helper()
	m := sweepIDLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no sweep id in:\n%s", out)
	return m[1]
}

// TestSweepOnGPUs runs trials on a (fake) four-GPU machine: one trial per
// GPU at a time, each trial seeing only its own GPU, as its process and its
// run record both show; the shared data stage runs once; the table, the
// job summary and the ledger name the best trial.
func TestSweepOnGPUs(t *testing.T) {
	p, logPath := sweepProject(t, 8, 1.5, "")
	summaryFile := filepath.Join(t.TempDir(), "summary.md")
	p.env = append(p.env, fourGPUs(t), "MAGELAB_GPU_INTERVAL=100ms", "GITHUB_STEP_SUMMARY="+summaryFile)
	r := p.mustMage("sweep", "-exp=sw")
	id := sweepID(t, r.out)
	mustContain(t, r.out, "8 trials of sw on 4 slots (gpu 0; gpu 1; gpu 2; gpu 3)", "best: trial 8, run ")
	log := readTrialLog(t, logPath)
	assert.Equal(t, 1, log.data, "the shared data stage ran %d times, want once", log.data)
	for x := 1; x <= 8; x++ {
		seen := log.starts[x]
		require.Len(t, seen, 1, "trial x=%d ran %d times, saw CUDA_VISIBLE_DEVICES=%+v", x, len(seen), seen)
		require.Regexp(t, regexp.MustCompile(`^[0-3]$`), seen[0].gpu, "trial x=%d ran %d times, saw CUDA_VISIBLE_DEVICES=%+v", x, len(seen), seen)
	}
	for g := range 4 {
		dev := strconv.Itoa(g)
		n := log.peak(func(s trialSeen) bool { return s.gpu == dev })
		assert.LessOrEqual(t, n, 1, "GPU %s ran %d trials at once", dev, n)
	}
	n := log.peak(func(trialSeen) bool { return true })
	assert.GreaterOrEqual(t, n, 2, "%d trials at once on 4 slots", n)
	assert.LessOrEqual(t, n, 4, "%d trials at once on 4 slots", n)
	runs := sweepRuns(t, p, id)
	require.Len(t, runs, 8, "%d runs in sweep %s, want 8", len(runs), id)
	for _, s := range runs {
		run := p.readRun(s.ID)
		x := int(run.Params["train"].(map[string]any)["x"].(float64))
		require.Equal(t, id, run.SweepID, "run %s (x=%d, saw GPU %s): sweep %q, %s, gpu %+v", s.ID, x, log.starts[x][0].gpu, run.SweepID, run.Status, run.GPU)
		require.Equal(t, record.StatusFinished, run.Status, "run %s (x=%d, saw GPU %s): sweep %q, %s, gpu %+v", s.ID, x, log.starts[x][0].gpu, run.SweepID, run.Status, run.GPU)
		require.NotNil(t, run.GPU, "run %s (x=%d, saw GPU %s): sweep %q, %s, gpu %+v", s.ID, x, log.starts[x][0].gpu, run.SweepID, run.Status, run.GPU)
		require.Len(t, run.GPU.Devices, 1, "run %s (x=%d, saw GPU %s): sweep %q, %s, gpu %+v", s.ID, x, log.starts[x][0].gpu, run.SweepID, run.Status, run.GPU)
		require.Equal(t, log.starts[x][0].gpu, strconv.Itoa(run.GPU.Devices[0].Index), "run %s (x=%d, saw GPU %s): sweep %q, %s, gpu %+v", s.ID, x, log.starts[x][0].gpu, run.SweepID, run.Status, run.GPU)
	}
	md, err := os.ReadFile(summaryFile)
	require.NoError(t, err)
	mustContain(t, string(md), "### Sweep `"+id+"`", "| 8 | finished | 0.8000 | train.x=8 |")
	listed := p.mustMage("runs", "-sweep="+id, "-limit=0")
	n = strings.Count(listed.out, " sw ")
	assert.Equal(t, 8, n, "runs -sweep lists %d runs:\n%s", n, listed.out)
	var finished record.Event
	events, _, _ := ledger.Open(filepath.Join(p.dir, "runs")).Events()
	for _, ev := range events {
		if ev.Type == record.EventSweepFinished && ev.SweepID == id {
			finished = ev
		}
	}
	require.Len(t, finished.Trials, 8, "sweep.finished: %+v", finished)
	require.Equal(t, finished.Trials[7], finished.Best, "sweep.finished: %+v", finished)
	require.Equal(t, record.StatusFinished, finished.Status, "sweep.finished: %+v", finished)

	t.Run("TwoTrialsPerGPU", func(t *testing.T) {
		p, logPath := sweepProject(t, 8, 1.5, "  trials_per_gpu: 2\n")
		p.env = append(p.env, fourGPUs(t), "CUDA_VISIBLE_DEVICES=1,3")
		r := p.mustMage("sweep", "-exp=sw")
		mustContain(t, r.out, "on 4 slots (gpu 1; gpu 3; gpu 1; gpu 3)")
		log := readTrialLog(t, logPath)
		for x, seen := range log.starts {
			assert.Contains(t, []string{"1", "3"}, seen[0].gpu, "trial %d saw GPU %q, not one of those visible", x, seen[0].gpu)
		}
		for _, dev := range []string{"1", "3"} {
			n := log.peak(func(s trialSeen) bool { return s.gpu == dev })
			assert.LessOrEqual(t, n, 2, "GPU %s ran %d trials at once, trials_per_gpu is 2", dev, n)
		}
	})
}

// TestSweepOnCPU: without GPUs, trials run in CPU slots with their threads
// capped and no GPU visible.
func TestSweepOnCPU(t *testing.T) {
	p, logPath := sweepProject(t, 6, 1, "  threads_per_trial: 1\n")
	p.env = append(p.env, noGPU(t))
	r := p.mustMage("sweep", "-exp=sw", "-parallel=3")
	mustContain(t, r.out, "6 trials of sw on 3 slots (CPU, 1 thread each)")
	log := readTrialLog(t, logPath)
	for x, seen := range log.starts {
		if assert.Len(t, seen, 1, "trial %d: %+v, want OMP_NUM_THREADS=1 and no GPU", x, seen) {
			assert.Equal(t, "1", seen[0].omp, "trial %d: %+v, want OMP_NUM_THREADS=1 and no GPU", x, seen)
			assert.Empty(t, seen[0].gpu, "trial %d: %+v, want OMP_NUM_THREADS=1 and no GPU", x, seen)
		}
	}
	n := log.peak(func(trialSeen) bool { return true })
	assert.LessOrEqual(t, n, 3, "%d trials at once with -parallel=3", n)
}

// TestSweepFailures: a failing trial is recorded and the sweep goes on, with
// a non-zero exit; -retryFailed reruns just that one; a setup where every
// trial fails stops after three.
func TestSweepFailures(t *testing.T) {
	p, logPath := sweepProject(t, 5, 0, "")
	p.env = append(p.env, noGPU(t), "FAIL_ON=3")
	r := p.mage("sweep", "-exp=sw", "-parallel=2")
	require.Equal(t, 1, r.code, "exit %d, want 1:\n%s", r.code, r.out)
	id := sweepID(t, r.out)
	mustContain(t, r.out, "trial 3/5 [cpu ", "train.x=3: failed:", "exit", "1 of 5 trials failed", "-retryFailed")
	runs := sweepRuns(t, p, id)
	failed := 0
	for _, s := range runs {
		if s.Status == record.StatusFailed {
			failed++
			assert.Equal(t, 3.0, s.Params["train.x"], "failed run has x=%v", s.Params["train.x"])
		}
	}
	require.Len(t, runs, 5, "%d runs, %d failed", len(runs), failed)
	require.Equal(t, 1, failed, "%d runs, %d failed", len(runs), failed)

	p.env = p.env[:len(p.env)-1] // fixed
	before := readTrialLog(t, logPath)
	r = p.mustMage("sweep", "-exp=sw", "-retryFailed")
	after := readTrialLog(t, logPath)
	for x := 1; x <= 5; x++ {
		want := len(before.starts[x])
		if x == 3 {
			want++
		}
		assert.Len(t, after.starts[x], want, "trial x=%d started %d times in all, want %d", x, len(after.starts[x]), want)
	}
	mustContain(t, r.out, "1 trial of sw", "best: trial 5")

	t.Run("EarlyStop", func(t *testing.T) {
		p, logPath := sweepProject(t, 8, 0, "")
		p.env = append(p.env, noGPU(t), "FAIL_ON=all")
		r := p.mage("sweep", "-exp=sw", "-parallel=1")
		require.Equal(t, 1, r.code, "exit %d:\n%s", r.code, r.out)
		mustContain(t, r.out, "stopping: 3 trials have failed and none has finished", "not run")
		fails := readTrialLog(t, logPath).fails
		require.Len(t, fails, 3, "%d trials ran, want 3", len(fails))
	})
}

// TestSweepResumesAfterKill kills the sweep process with SIGKILL mid-way:
// its running trials die with it (they would nap 60 s more), and the same
// command then reuses the finished trials and runs the rest.
func TestSweepResumesAfterKill(t *testing.T) {
	p, logPath := sweepProject(t, 6, 0.2, "")
	p.env = append(p.env, noGPU(t))
	p.env = append(p.env, "SLOW_FROM=3", "SLOW_NAP=60")
	cmd := p.command(magelabBin, "sweep", "-exp=sw", "-parallel=2")
	p.env = p.env[:len(p.env)-2]
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	// Kill once two trials are recorded as finished and a slow one runs.
	ledger := ledger.Open(filepath.Join(p.dir, "runs"))
	done := map[float64]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for {
		runs, _, _ := ledger.Summaries()
		clear(done)
		for _, s := range runs {
			if s.Status == record.StatusFinished {
				done[s.Params["train.x"].(float64)] = true
			}
		}
		if len(done) >= 2 && len(readTrialLog(t, logPath).starts) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("no trial finished in time:\n%s", out.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := readTrialLog(t, logPath)
	for _, seen := range killed.starts {
		if seen[0].end == 0 {
			waitGone(t, seen[0].pid) // Pdeathsig: no orphan races the resumed sweep
		}
	}
	r := p.mustMage("sweep", "-exp=sw", "-parallel=2")
	mustContain(t, r.out, "reused run", "best: trial 6")
	final := readTrialLog(t, logPath)
	for x := 1; x <= 6; x++ {
		after := final.starts[x]
		if done[float64(x)] {
			assert.Len(t, after, 1, "trial x=%d was recorded finished before the kill but ran again", x)
		}
		if assert.NotEmpty(t, after, "trial x=%d did not finish after the resume", x) {
			assert.NotZero(t, after[len(after)-1].end, "trial x=%d did not finish after the resume", x)
		}
	}
	finished := map[float64]int{}
	for _, s := range sweepRuns(t, p, sweepID(t, r.out)) {
		if s.Status == record.StatusFinished {
			finished[s.Params["train.x"].(float64)]++
		}
	}
	require.Len(t, finished, 6, "finished runs per x: %v", finished)
	for x, n := range finished {
		assert.Equal(t, 1, n, "x=%v has %d finished runs", x, n)
	}
}

// TestSweepInterrupt sends Ctrl-C's SIGINT with four trials running: each
// trial's process group is stopped, the runs are interrupted, nothing is
// left behind, and the message says how to resume.
func TestSweepInterrupt(t *testing.T) {
	p, logPath := sweepProject(t, 6, 300, "")
	p.env = append(p.env, noGPU(t))
	cmd := p.command(magelabBin, "sweep", "-exp=sw", "-parallel=4")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(90 * time.Second)
	for len(readTrialLog(t, logPath).starts) < 4 {
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("four trials did not start:\n%s", out.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	require.Equal(t, 130, code, "exit %d, want 130:\n%s", code, out.String())
	mustContain(t, out.String(), "interrupted: run the same command again to resume it")
	l := readTrialLog(t, logPath)
	assert.Len(t, l.starts, 4, "%d trials started, want 4 (no new trial after Ctrl-C)", len(l.starts))
	for _, seen := range l.starts {
		waitGone(t, seen[0].pid)
	}
	runs := sweepRuns(t, p, sweepID(t, out.String()))
	for _, s := range runs {
		assert.Equal(t, record.StatusInterrupted, s.Status, "run %s is %s, want interrupted", s.ID, s.Status)
	}
	assert.Len(t, runs, 4, "%d runs, want 4", len(runs))
}

// TestSweepDefaultExperiment sweeps the real digits pipeline (two short
// trials): PyTorch trials run side by side with capped threads.
func TestSweepDefaultExperiment(t *testing.T) {
	p := newProject(t)
	def := p.read("experiments/default.yaml")
	p.write("experiments/mini.yaml", def[:strings.Index(def, "sweep:")]+
		"sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n  metric: val_accuracy\n  goal: maximize\n")
	p.env = []string{noGPU(t)}
	r := p.mustMage("sweep", "-exp=mini", "-set=train.epochs=3", "-dry")
	mustContain(t, r.out, "2 trials on", "1  train.lr=0.1", "2  train.lr=0.01", "dry run")
	_, err := os.Stat(filepath.Join(p.dir, "runs"))
	require.Error(t, err, "-dry wrote runs/")
	r = p.mustMage("sweep", "-exp=mini", "-set=train.epochs=3")
	mustContain(t, r.out, "2 trials of digits-mlp", "best: trial ")
	for _, s := range sweepRuns(t, p, sweepID(t, r.out)) {
		run := p.readRun(s.ID)
		assert.Equal(t, record.StatusFinished, run.Status, "run %s: %s, metrics %v", s.ID, run.Status, run.Metrics)
		assert.GreaterOrEqual(t, run.Metrics["val_accuracy"], 0.5, "run %s: %s, metrics %v", s.ID, run.Status, run.Metrics)
		assert.Equal(t, 3.0, run.Params["train"].(map[string]any)["epochs"], "run %s: %s, metrics %v", s.ID, run.Status, run.Metrics)
	}
	again := p.mustMage("sweep", "-exp=mini", "-set=train.epochs=3")
	assert.Equal(t, 2, strings.Count(again.out, "reused run"), "the same sweep again should reuse both trials:\n%s", again.out)
}
