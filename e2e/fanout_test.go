package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/magelab/magelab/internal/sweep"
	"github.com/stretchr/testify/require"
)

// TestSweepFanOut plays sweep.yml locally: a sweep of the digits pipeline
// is planned into 3 chunks, each chunk runs in its own fresh clone (as
// separate runners would), their runs/ are imported into a fourth clone,
// and the merged ledger holds every trial once with its stamps, and names
// the same best trial as a local sweep.
func TestSweepFanOut(t *testing.T) {
	origin := newProject(t)
	def := origin.read("experiments/default.yaml")
	origin.write("experiments/mini.yaml", def[:strings.Index(def, "sweep:")]+
		"sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n    train.hidden: [32, 64]\n  metric: val_accuracy\n  goal: maximize\n")
	origin.env = []string{noGPU(t)}
	gitIn(t, origin.dir, "init", "-q")
	gitIn(t, origin.dir, "add", "-A")
	gitIn(t, origin.dir, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "project")
	sha := strings.TrimSpace(gitIn(t, origin.dir, "rev-parse", "HEAD"))

	planned := origin.mustMage("sweep", "-exp=mini", "-set=train.epochs=1", "-plan", "-format=github", "-jobs=3")
	var m sweep.Matrix
	err := json.Unmarshal([]byte(planned.out), &m)
	require.NoError(t, err, "plan output is not a 3-job matrix (%v):\n%s", err, planned.out)
	require.Len(t, m.Include, 3, "plan output is not a 3-job matrix (%v):\n%s", err, planned.out)
	plan := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(plan, []byte(planned.out), 0o644)
	id := m.Include[0].Sweep

	clones := make([]*project, 4)
	for k := range clones {
		dir := filepath.Join(t.TempDir(), "clone")
		gitIn(t, "", "clone", "-q", origin.dir, dir)
		clones[k] = &project{t: t, dir: dir, env: origin.env, venv: origin.venv}
	}
	var wg sync.WaitGroup
	results := make([]result, 3)
	errs := make([]error, 3)
	for k := range 3 {
		wg.Go(func() {
			results[k], errs[k] = clones[k].tryMage("sweep:trial", "-plan="+plan, "-chunk="+strconv.Itoa(k))
		})
	}
	wg.Wait()
	for k, r := range results {
		require.NoError(t, errs[k], "chunk %d", k)
		require.Equal(t, 0, r.code, "chunk %d: exit %d\n%s", k, r.code, r.out)
		mustContain(t, r.out, "of digits-mlp", "this is trials ")
	}

	merged := clones[3]
	for range 2 { // importing twice adds nothing the second time
		for k := range 3 {
			merged.mustMage("runs:import", filepath.Join(clones[k].dir, "runs"))
		}
	}
	listed := merged.mustMage("runs", "-sweep="+id, "-format=json", "-limit=0")
	var runs []struct {
		ID     string         `json:"id"`
		Status string         `json:"status"`
		Params map[string]any `json:"params"`
	}
	err = json.Unmarshal([]byte(listed.out), &runs)
	require.NoError(t, err, "runs -format=json: %v\n%s", err, listed.out)
	seen := map[string]bool{}
	for _, r := range runs {
		point := formatPoint(r.Params)
		require.False(t, seen[point], "trial %s: twice or not finished (%s)", point, r.Status)
		require.Equal(t, "finished", r.Status, "trial %s: twice or not finished (%s)", point, r.Status)
		seen[point] = true
		rec := merged.readRun(r.ID)
		require.NotNil(t, rec.Git, "run %s lost its stamps: git %+v sweep %q env %+v stages %d", r.ID, rec.Git, rec.SweepID, rec.Env, len(rec.Stages))
		require.Equal(t, sha, rec.Git.SHA, "run %s lost its stamps: git %+v sweep %q env %+v stages %d", r.ID, rec.Git, rec.SweepID, rec.Env, len(rec.Stages))
		require.Equal(t, id, rec.SweepID, "run %s lost its stamps: git %+v sweep %q env %+v stages %d", r.ID, rec.Git, rec.SweepID, rec.Env, len(rec.Stages))
		require.NotEmpty(t, rec.Env.Python, "run %s lost its stamps: git %+v sweep %q env %+v stages %d", r.ID, rec.Git, rec.SweepID, rec.Env, len(rec.Stages))
		require.Len(t, rec.Stages, 3, "run %s lost its stamps: git %+v sweep %q env %+v stages %d", r.ID, rec.Git, rec.SweepID, rec.Env, len(rec.Stages))
	}
	require.Len(t, seen, 4, "%d distinct trials in the merged ledger, want 4:\n%s", len(seen), listed.out)

	summaryFile := filepath.Join(t.TempDir(), "summary.md")
	merged.env = append(merged.env, "GITHUB_STEP_SUMMARY="+summaryFile)
	collected := merged.mustMage("sweep:summary", "-plan="+plan)
	local := origin.mustMage("sweep", "-exp=mini", "-set=train.epochs=1")
	got, want := bestOf(t, collected.out), bestOf(t, local.out)
	require.Equal(t, want, got, "the merged sweep's best is %q, a local sweep's %q", got, want)
	md, _ := os.ReadFile(summaryFile)
	mustContain(t, string(md), "### Sweep `"+id+"`", "```mermaid\nxychart-beta", "| TRIAL | STATUS | VAL_ACCURACY |")

	t.Run("MissingChunk", func(t *testing.T) {
		partial := clones[0]
		r := partial.mage("sweep:summary", "-plan="+plan)
		require.Equal(t, 1, r.code, "exit %d:\n%s", r.code, r.out)
		require.Contains(t, r.out, "no run of trial(s) 2, 3, 4 in this ledger", "exit %d:\n%s", r.code, r.out)
	})
	t.Run("PlanOfAnotherCommit", func(t *testing.T) {
		other := clones[1]
		other.appendTo("experiments/mini.yaml", "# edited\n")
		r := other.mage("sweep:trial", "-plan="+plan, "-chunk=0")
		require.Equal(t, 1, r.code, "exit %d:\n%s", r.code, r.out)
		require.Contains(t, r.out, "the plan is for sweep "+id, "exit %d:\n%s", r.code, r.out)
	})
}

var bestLine = regexp.MustCompile(`best: trial (\d+), run \S+: (val_accuracy=\S+ with .*)`)

// bestOf is the best trial's number, metric and params from a sweep's output.
func bestOf(t *testing.T, out string) string {
	t.Helper()
	m := bestLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no best trial in:\n%s", out)
	return "trial " + m[1] + ": " + m[2]
}

func formatPoint(params map[string]any) string {
	b, _ := json.Marshal([]any{params["train.lr"], params["train.hidden"]})
	return string(b)
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %v\n%s", args, err, out)
	return string(out)
}
