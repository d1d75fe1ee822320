package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReusableSweepWorkflow plays sweep.yml the way GitHub would: its job
// calls the reusable magelab-sweep.yml with the dispatch inputs, whose
// plan job builds magelab and writes the matrix, one trial job per chunk
// runs in a clone of its own, and the collect job merges their runs/ and
// summarises. The commands are the workflow files' own; the merged ledger
// must hold every trial once and name the same best trial as a local sweep.
func TestReusableSweepWorkflow(t *testing.T) {
	origin := newProject(t)
	def := origin.read("experiments/default.yaml")
	origin.write("experiments/mini.yaml", def[:strings.Index(def, "sweep:")]+
		"sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n    train.hidden: [32, 64]\n  metric: val_accuracy\n  goal: maximize\n")
	origin.env = []string{noGPU(t)}
	gitIn(t, origin.dir, "init", "-q")
	gitIn(t, origin.dir, "add", "-A")
	gitIn(t, origin.dir, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "project")

	var caller, called workflowFile
	readYAML(t, filepath.Join(repoRoot, ".github/workflows/sweep.yml"), &caller)
	readYAML(t, filepath.Join(repoRoot, ".github/workflows/magelab-sweep.yml"), &called)
	job, ok := caller.Jobs["sweep"]
	require.True(t, ok, "sweep.yml has a sweep job")
	require.Equal(t, "./.github/workflows/magelab-sweep.yml", job.Uses, "sweep.yml calls the reusable workflow")

	// The dispatch inputs, through sweep.yml's with: into the called
	// workflow's inputs, defaults for the rest.
	dispatch := newPlayer(t, origin.dir, nil, map[string]any{"inputs.experiment": "mini", "inputs.set": "train.epochs=1", "inputs.jobs": "3"})
	top := &jobRun{player: dispatch, name: "sweep", ctx: dispatch.ctx}
	ctx := map[string]any{"github.run_id": "41", "github.run_attempt": "1"}
	for name, in := range called.On.WorkflowCall.Inputs {
		ctx["inputs."+name] = in.Default
	}
	for k, v := range job.With {
		_, known := called.On.WorkflowCall.Inputs[k]
		require.True(t, known, "sweep.yml passes %s, which magelab-sweep.yml does not take", k)
		ctx["inputs."+k] = top.eval(v)
	}
	assert.Equal(t, 3.0, ctx["inputs.jobs"], "jobs reaches the reusable workflow as a number")

	p := newPlayer(t, origin.dir, append(origin.env, "MAGELAB_VENV="+origin.venv), ctx)
	planCtx := p.job("plan", called.Jobs["plan"].Steps, nil)
	needs := map[string]any{}
	for k, v := range called.Jobs["plan"].Outputs {
		needs["needs.plan.outputs."+k] = (&jobRun{player: p, name: "plan", ctx: planCtx}).eval(v)
	}
	id := fmt.Sprint(needs["needs.plan.outputs.sweep"])
	require.Regexp(t, `^[0-9a-f]{12}$`, id, "the plan job's sweep output")
	matrix := (&jobRun{player: p, name: "trial", ctx: needs}).eval(called.Jobs["trial"].Strategy.Matrix).(map[string]any)
	include := matrix["include"].([]any)
	require.Len(t, include, 3, "a 3-job matrix")

	var wg sync.WaitGroup
	for _, c := range include {
		cell := map[string]any{}
		for k, v := range c.(map[string]any) {
			cell["matrix."+k] = v
		}
		wg.Go(func() { p.job("trial", called.Jobs["trial"].Steps, cell) })
	}
	wg.Wait()
	require.False(t, t.Failed(), "a trial job failed")
	require.True(t, (&jobRun{player: p, name: "collect", ctx: p.ctx}).cond(called.Jobs["collect"].If), "collect runs after the trials")
	p.job("collect", called.Jobs["collect"].Steps, nil)

	merged := runDirs(t, filepath.Join(p.artifacts, "runs-41-1-merged"))
	require.Len(t, merged, 4, "the merged runs/ artifact holds every trial once")
	summary := p.summaries["collect"]
	mustContain(t, summary, "### Sweep `"+id+"`", "| TRIAL | STATUS | VAL_ACCURACY |")
	local := origin.mustMage("sweep", "-exp=mini", "-set=train.epochs=1")
	best := regexp.MustCompile(`best: trial (\d+), run \S+: (val_accuracy=\S+) with (.*)`)
	got, want := best.FindStringSubmatch(mdUnescape(summary)), best.FindStringSubmatch(local.out)
	require.NotNil(t, got, summary)
	require.NotNil(t, want, local.out)
	assert.Equal(t, want[1:], got[1:], "the fanned-out sweep's best is a local sweep's")
}

// TestTrainAction plays the composite action .github/actions/train as
// ci.yml calls it: the experiment trains, its runs table goes to the job
// summary and runs/ to an artifact.
func TestTrainAction(t *testing.T) {
	origin := newProject(t)
	origin.env = []string{noGPU(t)}
	gitIn(t, origin.dir, "init", "-q")
	gitIn(t, origin.dir, "add", "-A")
	gitIn(t, origin.dir, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "project")

	var action actionFile
	readYAML(t, filepath.Join(repoRoot, ".github/actions/train/action.yml"), &action)
	var ci workflowFile
	readYAML(t, filepath.Join(repoRoot, ".github/workflows/ci.yml"), &ci)
	var with map[string]string
	for _, s := range ci.Jobs["test"].Steps {
		if s.Uses == "./.github/actions/train" {
			with = s.With
		}
	}
	require.NotNil(t, with, "ci.yml uses the train action")
	ctx := map[string]any{"github.run_id": "7", "github.run_attempt": "1", "runner.os": "Linux"}
	for name, in := range action.Inputs {
		ctx["inputs."+name] = in.Default
	}
	for k, v := range with {
		_, known := action.Inputs[k]
		require.True(t, known, "ci.yml passes %s, which the action does not take", k)
		ctx["inputs."+k] = v
	}
	ctx["inputs.set"] = "train.epochs=1" // ci.yml trains the default as it is; here one epoch does

	p := newPlayer(t, origin.dir, append(origin.env, "MAGELAB_VENV="+origin.venv), ctx)
	steps := append([]workflowStep{{Uses: "actions/checkout@v4"}}, action.Runs.Steps...)
	p.job("test", steps, nil)
	mustContain(t, p.summaries["test"], "| id |", "digits-mlp")
	assert.Len(t, runDirs(t, filepath.Join(p.artifacts, "runs-test-7-1")), 1, "runs/ uploaded with the run")
}

// mdUnescape undoes the job summary's escaping of table cells.
func mdUnescape(s string) string {
	return strings.NewReplacer(`\|`, "|", "&lt;", "<", "&gt;", ">").Replace(s)
}

// runDirs lists the run directories of a runs/ tree.
func runDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids
}
