package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// A local runner for the workflows in .github/workflows, so that a step that
// cannot work on GitHub fails the suite (actionlint checks the syntax, not
// what a step does). It runs each job's run: steps as written, in order,
// job after job as needs: orders them: each job (each matrix combination)
// in a fresh clone of the project, with the workflow's, job's and step's
// env:, the workflow_dispatch inputs the test gives (defaults otherwise),
// ${{ }} expressions evaluated (actions_expr_test.go), GITHUB_OUTPUT,
// GITHUB_ENV and GITHUB_STEP_SUMMARY, steps.*.outputs, job outputs:,
// needs.*.outputs and needs.*.result, if: on jobs and steps (success(),
// failure(), always()), and strategy.matrix (axes, include, or a
// fromJSON() of another job's output).
//
// A job that calls a reusable workflow of the repository (uses:
// ./.github/workflows/FILE) runs that file's jobs with its with: as their
// inputs (typed as the called file declares them), and a step that uses a
// composite action of the repository (uses: ./PATH) runs the action's
// steps in the job's clone (actions_uses_test.go).
//
// Other actions are not run: actions/checkout is the clone itself; setup-go,
// setup-python and cache are no-ops (the machine has Go and Python, and
// the tests share the Go and venv caches); upload-artifact and
// download-artifact are directory copies that follow their name, path
// (one or more, the artifact rooted at their common ancestor), pattern and
// merge-multiple rules. Any other action is an error: teach the runner.
// Jobs whose runs-on names a self-hosted GPU runner are skipped on a
// machine without a GPU, and a step the caller names in skip is not run
// (the step that runs this very suite).

// workflow is the part of a workflow file the runner reads.
type workflow struct {
	On struct {
		Dispatch *struct {
			Inputs map[string]struct {
				Default string `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
		Call *struct {
			Inputs map[string]struct {
				Type    string `yaml:"type"`
				Default any    `yaml:"default"`
			} `yaml:"inputs"`
			Outputs map[string]struct {
				Value string `yaml:"value"`
			} `yaml:"outputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]*wfJob `yaml:"jobs"`
}

type wfJob struct {
	Uses     string            `yaml:"uses"` // a reusable workflow, called with With
	With     map[string]string `yaml:"with"`
	Needs    yaml.Node         `yaml:"needs"`
	If       string            `yaml:"if"`
	RunsOn   yaml.Node         `yaml:"runs-on"`
	Env      map[string]string `yaml:"env"`
	Outputs  map[string]string `yaml:"outputs"`
	Strategy struct {
		Matrix yaml.Node `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []wfStep `yaml:"steps"`
}

type wfStep struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	If               string            `yaml:"if"`
	Uses             string            `yaml:"uses"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	WorkingDirectory string            `yaml:"working-directory"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
}

func (s wfStep) label() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Uses != "":
		return s.Uses
	}
	return strings.SplitN(s.Run, "\n", 2)[0]
}

// actionsRun is one run of a workflow file.
type actionsRun struct {
	t         *testing.T
	file      string
	wf        workflow
	origin    string            // the git repository every job clones
	inputs    map[string]any    // workflow_dispatch inputs
	env       []string          // the runner's environment, under every step's
	skip      map[string]string // "job/step name" → why it is not run
	artifacts string            // artifacts/<name>/...
	jobs      map[string]any    // needs context: job → {result, outputs}
	Log       strings.Builder
	Summary   strings.Builder // what the steps appended to GITHUB_STEP_SUMMARY
}

// runWorkflow runs .github/workflows/<file> from origin, a git repository
// of the project; it fails the test when a job that was not skipped fails.
func runWorkflow(t *testing.T, origin, file string, inputs map[string]string, env []string, skip map[string]string) *actionsRun {
	t.Helper()
	r := newActionsRun(t, origin, file, env, skip, t.TempDir())
	if d := r.wf.On.Dispatch; d != nil {
		for name, in := range d.Inputs {
			r.inputs[name] = in.Default
		}
	}
	for k, v := range inputs {
		r.inputs[k] = v
	}
	r.runJobs()
	return r
}

// newActionsRun reads .github/workflows/<file> of origin, to run with
// artifacts kept in the directory artifacts.
func newActionsRun(t *testing.T, origin, file string, env []string, skip map[string]string, artifacts string) *actionsRun {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(origin, ".github", "workflows", file))
	if err != nil {
		t.Fatal(err)
	}
	r := &actionsRun{t: t, file: file, origin: origin, env: env, skip: skip, artifacts: artifacts, jobs: map[string]any{}, inputs: map[string]any{}}
	if err := yaml.Unmarshal(b, &r.wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return r
}

// runJobs runs every job, each after those it needs.
func (r *actionsRun) runJobs() {
	t := r.t
	t.Helper()
	for _, id := range r.order() {
		res := r.job(id)
		r.logf("== job %s: %s", id, property(res, "result"))
		if property(res, "result") == "failure" {
			t.Fatalf("%s: job %s failed:\n%s", r.file, id, r.Log.String())
		}
	}
}

func (r *actionsRun) logf(format string, args ...any) { fmt.Fprintf(&r.Log, format+"\n", args...) }

// order lists the jobs so that each comes after those it needs.
func (r *actionsRun) order() []string {
	var out []string
	done := map[string]bool{}
	for len(out) < len(r.wf.Jobs) {
		var ready []string
		for id, j := range r.wf.Jobs {
			if !done[id] && !slices.ContainsFunc(strs(&j.Needs), func(n string) bool { return !done[n] }) {
				ready = append(ready, id)
			}
		}
		if len(ready) == 0 {
			r.t.Fatalf("%s: the jobs' needs: form a cycle", r.file)
		}
		sort.Strings(ready)
		for _, id := range ready {
			done[id] = true
		}
		out = append(out, ready...)
	}
	return out
}

// strs reads a string or a list of strings.
func strs(n *yaml.Node) []string {
	var one string
	if n.Decode(&one) == nil && one != "" {
		return []string{one}
	}
	var many []string
	n.Decode(&many)
	return many
}

// context is what a job's expressions read, before its steps ran.
func (r *actionsRun) context(matrix map[string]any, env map[string]string) *exprContext {
	envAny := map[string]any{}
	for k, v := range env {
		envAny[k] = v
	}
	needs := map[string]any{}
	failed := false
	return &exprContext{failed: failed, vars: map[string]any{
		"inputs": r.inputs, "matrix": matrix, "needs": needs, "env": envAny, "steps": map[string]any{},
		"github": map[string]any{"run_id": "4242", "run_attempt": "1", "ref_name": "main", "event_name": "workflow_dispatch", "repository": "magelab/magelab"},
		"runner": map[string]any{"os": "Linux", "arch": "X64", "temp": os.TempDir()},
		"vars":   map[string]any{}, "secrets": map[string]any{},
	}}
}

// job runs one job (every combination of its matrix) and returns its needs
// context entry.
func (r *actionsRun) job(id string) map[string]any {
	j := r.wf.Jobs[id]
	res := map[string]any{"result": "skipped", "outputs": map[string]any{}}
	r.jobs[id] = res
	ctx := r.context(nil, r.wf.Env)
	needs := ctx.vars["needs"].(map[string]any)
	for _, n := range strs(&j.Needs) {
		needs[n] = r.jobs[n]
		ctx.failed = ctx.failed || property(r.jobs[n], "result") != "success"
	}
	if ok, err := ctx.condition(j.If); err != nil || !ok {
		r.logf("job %s skipped (if: %s) %v", id, j.If, err)
		return res
	}
	if labels := strs(&j.RunsOn); slices.Contains(labels, "self-hosted") && slices.Contains(labels, "gpu") && !haveGPU() {
		r.logf("job %s skipped: it runs on a self-hosted GPU runner and this machine has no GPU", id)
		return res
	}
	if j.Uses != "" {
		res = r.call(id, j, ctx)
		r.jobs[id] = res
		return res
	}
	combos, err := r.matrix(j, ctx)
	if err != nil {
		r.t.Fatalf("%s: job %s: matrix: %v", r.file, id, err)
	}
	res["result"] = "success"
	for _, m := range combos {
		outputs, ok := r.combination(id, j, m, needs)
		if !ok {
			res["result"] = "failure"
		}
		for k, v := range outputs {
			res["outputs"].(map[string]any)[k] = v
		}
	}
	return res
}

// haveGPU reports whether nvidia-smi lists a GPU here.
func haveGPU() bool {
	out, err := exec.Command("nvidia-smi", "-L").Output()
	return err == nil && strings.Contains(string(out), "GPU ")
}

// matrix lists the job's combinations: one empty one without a matrix.
func (r *actionsRun) matrix(j *wfJob, ctx *exprContext) ([]map[string]any, error) {
	n := &j.Strategy.Matrix
	if n.Kind == 0 {
		return []map[string]any{nil}, nil
	}
	var spec any
	var s string
	if n.Decode(&s) == nil && strings.Contains(s, "${{") {
		v, err := ctx.eval(s)
		if err != nil {
			return nil, err
		}
		spec = v
	} else if err := n.Decode(&spec); err != nil {
		return nil, err
	} else {
		b, _ := json.Marshal(spec) // numbers as JSON gives them, as fromJSON does
		json.Unmarshal(b, &spec)
	}
	m, _ := spec.(map[string]any)
	combos := []map[string]any{{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "include" && k != "exclude" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals, _ := m[k].([]any)
		var next []map[string]any
		for _, c := range combos {
			for _, v := range vals {
				nc := map[string]any{k: v}
				for ck, cv := range c {
					nc[ck] = cv
				}
				next = append(next, nc)
			}
		}
		combos = next
	}
	if inc, _ := m["include"].([]any); len(inc) > 0 {
		if len(keys) == 0 {
			combos = nil
		}
		for _, e := range inc {
			if em, ok := e.(map[string]any); ok {
				combos = append(combos, em) // extending matching combinations is not supported
			}
		}
	}
	return combos, nil
}
