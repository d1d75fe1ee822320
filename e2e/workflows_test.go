package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// workflowOrigin is a git repository of this project's files: what
// actions/checkout checks out, for each job to clone.
func workflowOrigin(t *testing.T) string {
	p := newProject(t)
	gitIn(t, p.dir, "init", "-q", "-b", "main")
	gitIn(t, p.dir, "add", "-A")
	gitIn(t, p.dir, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "project")
	return p.dir
}

// runnerEnv is the environment of a runner here: this machine's, with the
// tests' venv (so that no job reinstalls torch) and no GPU.
func runnerEnv(t *testing.T) []string {
	return append(os.Environ(), "MAGELAB_VENV="+sharedVenv, noGPU(t), "GIT_AUTHOR_NAME=ci", "GIT_AUTHOR_EMAIL=ci@example.com",
		"GIT_COMMITTER_NAME=ci", "GIT_COMMITTER_EMAIL=ci@example.com")
}

// workflowCases are the inputs and the steps not run, per workflow file;
// a workflow not listed runs with its inputs' defaults.
var workflowCases = map[string]struct {
	inputs map[string]string
	skip   map[string]string
	check  func(t *testing.T, r *actionsRun)
}{
	"ci.yml": {
		skip:  map[string]string{"test/vet, lint the workflows, test": "it runs this very suite (TestCIRunScript checks the script)"},
		check: checkCI,
	},
	"sweep.yml": {
		inputs: map[string]string{"experiment": "default", "set": "train.epochs=1", "jobs": "2"},
		check:  checkSweep,
	},
}

// TestWorkflows runs every workflow in .github/workflows with the local
// runner (actions_test.go): a step that could not work on GitHub — a path
// that is not there, a binary not built, an artifact not uploaded — fails.
func TestWorkflows(t *testing.T) {
	origin := workflowOrigin(t)
	files, _ := filepath.Glob(filepath.Join(origin, ".github", "workflows", "*.y*ml"))
	require.NotEmpty(t, files, "no workflows")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			if callers := onlyCalled(t, f, files); callers != nil {
				require.NotEmpty(t, callers, "%s runs only when called (on: workflow_call), and no workflow here calls it", name)
				t.Logf("%s runs only when called: played through %v", name, callers)
				return
			}
			c := workflowCases[name]
			r := runWorkflow(t, origin, name, c.inputs, runnerEnv(t), c.skip)
			t.Logf("%s:\n%s", name, tailLines(r.Log.String(), 40))
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// onlyCalled returns, for a workflow whose one trigger is workflow_call,
// the workflows of files that call it (an empty list if none does); nil for
// a workflow that runs by itself.
func onlyCalled(t *testing.T, file string, files []string) []string {
	var w struct {
		On map[string]any `yaml:"on"`
	}
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &w), file)
	if _, called := w.On["workflow_call"]; !called || len(w.On) > 1 {
		return nil
	}
	callers := []string{}
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "uses: ./.github/workflows/"+filepath.Base(file)) {
			callers = append(callers, filepath.Base(f))
		}
	}
	return callers
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkCI: the training run is in the uploaded runs/, and the job summary
// holds the runs table.
// The training is the train action's (.github/actions/train), as any
// adopting repository calls it.
func checkCI(t *testing.T, r *actionsRun) {
	sums := artifactRuns(t, r, "runs-test-4242-1")
	require.Len(t, sums, 1, "the ci artifact holds one run")
	assert.Equal(t, record.StatusFinished, sums[0].Status)
	mustContain(t, r.Summary.String(), "| id | experiment | status |", "digits-mlp")
}

// checkSweep: sweep.yml called the reusable magelab-sweep.yml, whose
// sweep output names the sweep; the merged runs/ holds each of its 9
// trials once, finished; the summary ranks them and names the best; the
// HTML report is the sweep's.
func checkSweep(t *testing.T, r *actionsRun) {
	id, _ := property(property(r.jobs["sweep"], "outputs"), "sweep").(string)
	require.Regexp(t, `^[0-9a-f]{12}$`, id, "the reusable workflow's sweep output")
	sums := artifactRuns(t, r, "runs-4242-1-merged")
	trials := map[string]bool{}
	for _, s := range sums {
		require.Equal(t, id, s.SweepID, "run %s of the merged artifact", s.ID)
		assert.Equal(t, record.StatusFinished, s.Status, "trial %s", s.ID)
		require.False(t, trials[s.ID], "run %s merged twice", s.ID)
		trials[s.ID] = true
	}
	require.Len(t, trials, 9, "the merged artifact holds every trial of the 9")
	mustContain(t, r.Summary.String(), "### Sweep `"+id+"`", "best: trial ")
	html, err := os.ReadFile(filepath.Join(r.artifacts, "sweep-report-4242-1", "sweep-report.html"))
	require.NoError(t, err, "the sweep's HTML report artifact (artifacts: %v)", sortedNames(r.artifacts))
	assert.Contains(t, string(html), id, "the HTML report is the sweep's")
}

func artifactRuns(t *testing.T, r *actionsRun, name string) []record.Summary {
	t.Helper()
	dir := filepath.Join(r.artifacts, name)
	sums, _, err := ledger.Open(dir).Summaries()
	require.NoError(t, err, "artifact %s (artifacts: %v)", name, sortedNames(r.artifacts))
	require.NotEmpty(t, sums, "artifact %s holds no runs (artifacts: %v)", name, sortedNames(r.artifacts))
	return sums
}

// TestCIRunScript checks the step TestWorkflows leaves out, as far as it
// can without running the suite inside itself: .ci/run is an executable
// bash script that parses, and fuzzes what it says it fuzzes.
func TestCIRunScript(t *testing.T) {
	script := filepath.Join(repoRoot, ".ci", "run")
	st, err := os.Stat(script)
	require.NoError(t, err)
	require.NotZero(t, st.Mode()&0o111, ".ci/run: mode %v: want an executable script", st.Mode())
	out, err := exec.Command("bash", "-n", script).CombinedOutput()
	require.NoError(t, err, "bash -n .ci/run:\n%s", out)
	b, _ := os.ReadFile(script)
	for _, m := range regexp.MustCompile(`-fuzz (\w+) .* (\./\S+)`).FindAllStringSubmatch(string(b), -1) {
		cmd := exec.Command("go", "test", "-list", m[1], m[2])
		cmd.Dir = repoRoot
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "go test -list %s %s:\n%s", m[1], m[2], out)
		assert.Contains(t, string(out), m[1], ".ci/run fuzzes %s in %s, which has no such fuzz target", m[1], m[2])
	}
}
