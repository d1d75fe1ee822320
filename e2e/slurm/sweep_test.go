package slurm

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sixTrials = "sweep:\n  parameters:\n    train.x: [3, 1, 6, 2, 5, 4]\n  metric: score\n  parallel: 2\n"

// TestSweepIsOneJobArray runs a 6-trial sweep as one job array, two tasks
// at a time, each on the GPU Slurm gave it, and compares its ranking with
// the same sweep run locally.
func TestSweepIsOneJobArray(t *testing.T) {
	t.Parallel()
	p := newProject(t, sixTrials+"backend: slurm\nslurm:\n  gpus_per_trial: 1\n")
	r := p.mustMage("sweep", "-exp=tiny")
	assert.Regexp(t, `submitted 6 trials of tiny as Slurm job array \d+ \(sbatch --parsable --array=0-5%2 `, r.out)
	job := regexp.MustCompile(`Slurm job array (\d+)`).FindStringSubmatch(r.out)[1]

	runs := p.runs()
	require.Len(t, runs, 6, "every trial once")
	type span struct {
		cuda       string
		start, end float64
	}
	var spans []span
	for _, run := range runs {
		assert.Equal(t, "finished", run.Status)
		k := x(run) - 1
		trial := indexOf([]int{3, 1, 6, 2, 5, 4}, x(run))
		assert.Equal(t, job+"_"+strconv.Itoa(trial), run.Slurm, "run of x=%d", k+1)
		seen := p.seen(run.ID)
		assert.Contains(t, []string{"0", "1"}, seen["cuda"], "x=%d saw one of the node's two GPUs", k+1)
		assert.Equal(t, seen["job_gpus"], seen["cuda"], "x=%d: CUDA_VISIBLE_DEVICES is the GPU Slurm allotted", k+1)
		vars := p.runRecord(run.ID)["env"].(map[string]any)["vars"].(map[string]any)
		assert.Equal(t, job, vars["SLURM_ARRAY_JOB_ID"])
		assert.Equal(t, strconv.Itoa(trial), vars["SLURM_ARRAY_TASK_ID"])
		assert.Equal(t, "debug", vars["SLURM_JOB_PARTITION"])
		assert.NotEmpty(t, vars["SLURMD_NODENAME"])
		end, _ := os.ReadFile(filepath.Join(p.dir, "runs", run.ID, "out", "end"))
		e, _ := strconv.ParseFloat(strings.TrimSpace(string(end)), 64)
		spans = append(spans, span{seen["cuda"].(string), seen["start"].(float64), e})
	}
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.start < b.end && b.start < a.end {
				assert.NotEqual(t, a.cuda, b.cuda, "two trials ran at the same time on GPU %s", a.cuda)
			}
		}
	}
	listing := p.mustMage("runs", "-exp=tiny").out
	assert.Contains(t, listing, "SLURM")
	assert.Contains(t, listing, job+"_0")

	local := newProject(t, sixTrials)
	l := local.mustMage("sweep", "-exp=tiny")
	assert.Equal(t, ranking(t, l.out), ranking(t, r.out), "the same ranking as the same sweep run locally")
	assert.Equal(t, []string{"3", "5", "6", "1", "4", "2"}, ranking(t, r.out), "trials by score, best first")
}

// ranking is the trial numbers of a sweep's final table, best first.
func ranking(t *testing.T, out string) []string {
	t.Helper()
	i := strings.LastIndex(out, "TRIAL  STATUS")
	require.GreaterOrEqual(t, i, 0, "no table in:\n%s", out)
	var order []string
	for _, line := range strings.Split(out[i:], "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "best:" {
			break
		}
		order = append(order, f[0])
	}
	return order
}

func indexOf(xs []int, v int) int {
	for i, x := range xs {
		if x == v {
			return i
		}
	}
	return -1
}

// TestDetachReattachAndRetry detaches after submitting, cancels one task
// with scancel, re-attaches (nothing is resubmitted), and resubmits only
// the cancelled trial with -retryFailed.
func TestDetachReattachAndRetry(t *testing.T) {
	t.Parallel()
	p := newProject(t, "sweep:\n  parameters:\n    train.x: [1, 2, 3, 4]\n  metric: score\n  parallel: 2\n"+
		"backend: slurm\nslurm:\n  gpus_per_trial: 0\n")
	begin := time.Now()
	d := p.mustMage("sweep", "-exp=tiny", "-set=train.sleep=4", "-detach")
	assert.Contains(t, d.out, "submitted 4 trials")
	assert.Contains(t, d.out, "detached")
	assert.Less(t, time.Since(begin), 60*time.Second, "-detach returns once submitted")
	jobs := readJobs(t, p)
	require.Len(t, jobs.Submissions, 1)
	job := jobs.Submissions[0].Job

	// Cancel trial 2's task once its run has started.
	waitFor(t, 60*time.Second, "trial 2's run to start", func() bool {
		b, _ := os.ReadFile(filepath.Join(p.dir, ".magelab", "slurm", jobs.ID, "trials", "1", "runs", "ledger.jsonl"))
		return strings.Contains(string(b), "run.started")
	})
	out, err := exec.Command("scancel", job+"_1").CombinedOutput()
	require.NoError(t, err, string(out))

	a := p.mage("sweep", "-exp=tiny", "-set=train.sleep=4")
	assert.Equal(t, 1, a.code, a.out)
	assert.NotContains(t, a.out, "submitted", "re-attaching resubmits nothing")
	assert.Contains(t, a.out, "CANCELLED")
	assert.Contains(t, a.out, "-retryFailed")
	require.Len(t, readJobs(t, p).Submissions, 1, "nothing resubmitted")

	again := p.mage("sweep", "-exp=tiny", "-set=train.sleep=4")
	assert.NotContains(t, again.out, "submitted", "a settled sweep re-attached resubmits nothing without -retryFailed")

	rf := p.mustMage("sweep", "-exp=tiny", "-set=train.sleep=4", "-retryFailed")
	assert.Contains(t, rf.out, "submitted 1 trial of tiny")
	assert.Contains(t, rf.out, "--array=1 ")
	jobs = readJobs(t, p)
	require.Len(t, jobs.Submissions, 2)
	assert.Equal(t, []int{1}, jobs.Submissions[1].Trials, "only the cancelled trial is resubmitted")

	byX := map[int][]listed{}
	for _, r := range p.runs() {
		byX[x(r)] = append(byX[x(r)], r)
	}
	for _, v := range []int{1, 3, 4} {
		require.Len(t, byX[v], 1, "x=%d ran once", v)
		assert.Equal(t, "finished", byX[v][0].Status)
	}
	require.Len(t, byX[2], 2, "x=2 ran twice: cancelled, then resubmitted")
	assert.Equal(t, "finished", byX[2][0].Status, "newest first")
	assert.Equal(t, "failed", byX[2][1].Status)
	assert.Contains(t, p.runRecord(byX[2][1].ID)["error"], "CANCELLED")
}

// jobsFile is jobs.json as the test reads it.
type jobsFile struct {
	ID          string `json:"id"`
	Submissions []struct {
		Job    string `json:"job"`
		Trials []int  `json:"trials"`
	} `json:"submissions"`
}

func readJobs(t *testing.T, p *project) jobsFile {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "slurm", "*", "jobs.json"))
	require.Len(t, files, 1, "one submitted sweep")
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var j jobsFile
	require.NoError(t, json.Unmarshal(b, &j))
	return j
}

// TestRequeueResumes requeues a running task with scontrol: the first
// attempt is recorded as preempted, the second resumes from its output and
// finishes.
func TestRequeueResumes(t *testing.T) {
	t.Parallel()
	p := newProject(t, "sweep:\n  parameters:\n    train.x: [7]\n  metric: score\nbackend: slurm\nslurm:\n  gpus_per_trial: 0\n")
	set := "-set=train.resumable=1"
	p.mustMage("sweep", "-exp=tiny", set, "-detach")
	jobs := readJobs(t, p)
	waitFor(t, 60*time.Second, "the stage to start", func() bool {
		m, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "slurm", jobs.ID, "trials", "0", "runs", "*", "out", "seen.json"))
		return len(m) == 1
	})
	out, err := exec.Command("scontrol", "requeue", jobs.Submissions[0].Job+"_0").CombinedOutput()
	require.NoError(t, err, string(out))

	r := p.mustMage("sweep", "-exp=tiny", set)
	runs := p.runs()
	require.Len(t, runs, 2, r.out)
	second, first := runs[0], runs[1]
	assert.Equal(t, "preempted", first.Status)
	assert.Equal(t, "finished", second.Status)
	resume, _ := p.seen(second.ID)["resume"].(string)
	assert.True(t, strings.HasSuffix(resume, filepath.Join(first.ID, "out")), "the second attempt saw MAGELAB_RESUME_DIR=%q, want the first's out/", resume)
	assert.FileExists(t, filepath.Join(p.dir, "runs", first.ID, "out", "checkpoint"), "the first attempt checkpointed on Slurm's signal")
	vars := p.runRecord(second.ID)["env"].(map[string]any)["vars"].(map[string]any)
	assert.Equal(t, "1", vars["SLURM_RESTART_COUNT"])
}

// TestTimeLimitIsTimeout runs a trial past its --time: Slurm's TIMEOUT is
// recorded as the reason it failed.
func TestTimeLimitIsTimeout(t *testing.T) {
	t.Parallel()
	p := newProject(t, "sweep:\n  parameters:\n    train.x: [1]\n  metric: score\nbackend: slurm\n"+
		"slurm:\n  gpus_per_trial: 0\n  time: 1\n  signal_lead: 0\n")
	r := p.mage("sweep", "-exp=tiny", "-set=train.sleep=600")
	assert.Equal(t, 1, r.code, r.out)
	assert.Contains(t, r.out, "TIMEOUT")
	runs := p.runs()
	require.Len(t, runs, 1)
	assert.Equal(t, "failed", runs[0].Status)
	assert.Contains(t, p.runRecord(runs[0].ID)["error"], "TIMEOUT")
}

// TestFailingTrial fails one trial of three: it is recorded failed and the
// others finish.
func TestFailingTrial(t *testing.T) {
	t.Parallel()
	p := newProject(t, "sweep:\n  parameters:\n    train.x: [1, 2, 3]\n  metric: score\nbackend: slurm\nslurm:\n  gpus_per_trial: 0\n")
	r := p.mage("sweep", "-exp=tiny", "-set=train.fail=2")
	assert.Equal(t, 1, r.code, r.out)
	assert.Contains(t, r.out, "fails on purpose")
	assert.Contains(t, r.out, "-retryFailed")
	status := map[int]string{}
	for _, run := range p.runs() {
		status[x(run)] = run.Status
	}
	assert.Equal(t, map[int]string{1: "finished", 2: "failed", 3: "finished"}, status)
}

// TestTrainIsOneJob runs train -backend=slurm: one job, its run in the
// ledger; the same command again is up to date.
func TestTrainIsOneJob(t *testing.T) {
	t.Parallel()
	p := newProject(t, "slurm:\n  gpus_per_trial: 0\n")
	r := p.mustMage("train", "-exp=tiny", "-backend=slurm")
	m := regexp.MustCompile(`on Slurm \(job (\d+)\)`).FindStringSubmatch(r.out)
	require.NotNil(t, m, r.out)
	runs := p.runs()
	require.Len(t, runs, 1)
	assert.Equal(t, "finished", runs[0].Status)
	assert.Equal(t, m[1], runs[0].Slurm)
	assert.Equal(t, 1.0, runs[0].Metrics["score"])
	again := p.mustMage("train", "-exp=tiny", "-backend=slurm")
	assert.Contains(t, again.out, "up to date")
	assert.NotContains(t, again.out, "submitted")
}

// TestRefusedBeforeSubmitting checks the errors that come before anything
// is submitted, and that nothing was.
func TestRefusedBeforeSubmitting(t *testing.T) {
	t.Parallel()
	base := "sweep:\n  parameters:\n    train.x: [1, 2]\n  metric: score\nbackend: slurm\n"
	p := newProject(t, base)
	nothingSubmitted := func(t *testing.T) {
		m, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "slurm", "*", "jobs.json"))
		assert.Empty(t, m, "nothing recorded as submitted")
		out, _ := exec.Command("squeue", "--noheader", "--format=%j").CombinedOutput()
		for _, name := range strings.Fields(string(out)) {
			assert.NotContains(t, name, filepath.Base(p.dir))
		}
	}
	tests := []struct {
		name, slurm string
		env         []string
		setup       func(t *testing.T)
		want        []string
	}{
		{name: "NoSbatch", env: []string{"PATH=" + t.TempDir()}, want: []string{"sbatch is not on PATH"}},
		{name: "BadPartition", slurm: "slurm:\n  partition: nope\n",
			want: []string{"experiments/tiny.yaml:11:14: slurm.partition: \"nope\" is not a partition of this cluster (sinfo lists debug)"}},
		{name: "TooManyGPUs", slurm: "slurm:\n  gpus_per_trial: 3\n",
			want: []string{"experiments/tiny.yaml:11:19: slurm.gpus_per_trial: 3, but the largest node of partition debug has 2 GPU(s)"}},
		{name: "UnwritableDirectory", slurm: "slurm:\n  gpus_per_trial: 0\n", setup: func(t *testing.T) {
			require.NoError(t, os.MkdirAll(filepath.Join(p.dir, ".magelab"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(p.dir, ".magelab", "slurm"), []byte("in the way\n"), 0o644))
			t.Cleanup(func() { os.Remove(filepath.Join(p.dir, ".magelab", "slurm")) })
		}, want: []string{"cannot be made", "every node mounts"}},
		{name: "SbatchRefuses", slurm: "slurm:\n  gpus_per_trial: 0\n  sbatch_args: [--mem=99999999]\n",
			want: []string{"sbatch --parsable --array=0-1", "sbatch: error:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.write("experiments/tiny.yaml", "name: tiny\nstages:\n  train: {cmd: \"sh python/tiny.sh ${out}\", metrics: \"${out}/metrics.json\"}\n"+
				"train: {x: 1, sleep: 1, fail: 0, resumable: 0}\n"+base+tt.slurm)
			if tt.setup != nil {
				tt.setup(t)
			}
			r := p.mageEnv(tt.env, "sweep", "-exp=tiny")
			assert.Equal(t, 1, r.code, r.out)
			for _, w := range tt.want {
				assert.Contains(t, r.out, w)
			}
			nothingSubmitted(t)
		})
	}
}
