package e2e

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// call runs job id, which calls a reusable workflow of the repository
// (uses: ./.github/workflows/FILE): the called file's jobs, in the same
// clone source and with the same artifacts, its inputs the declared
// defaults overlaid by the job's with: (typed as declared, as GitHub does),
// and the job's outputs the called file's on.workflow_call.outputs.
func (r *actionsRun) call(id string, j *wfJob, ctx *exprContext) map[string]any {
	t := r.t
	t.Helper()
	file, ok := strings.CutPrefix(j.Uses, "./.github/workflows/")
	if !ok {
		t.Fatalf("%s: job %s uses %s: the runner plays only this repository's reusable workflows (./.github/workflows/FILE)", r.file, id, j.Uses)
	}
	sub := newActionsRun(t, r.origin, file, r.env, r.skip, r.artifacts)
	decl := sub.wf.On.Call
	if decl == nil {
		t.Fatalf("%s: job %s calls %s, which has no on: workflow_call", r.file, id, file)
	}
	for name, in := range decl.Inputs {
		sub.inputs[name] = typedInput(in.Type, in.Default)
	}
	for k, v := range j.With {
		in, known := decl.Inputs[k]
		if !known {
			t.Fatalf("%s: job %s passes %s, which %s does not take", r.file, id, k, file)
		}
		val, err := ctx.value(v)
		if err != nil {
			t.Fatalf("%s: job %s: with.%s: %v", r.file, id, k, err)
		}
		sub.inputs[k] = typedInput(in.Type, val)
	}
	r.logf("== job %s calls %s with %v", id, file, sub.inputs)
	defer func() {
		r.Log.WriteString(sub.Log.String())
		r.Summary.WriteString(sub.Summary.String())
	}()
	sub.runJobs()
	out := map[string]any{}
	jobsCtx := &exprContext{vars: map[string]any{"jobs": sub.jobs}}
	for k, o := range decl.Outputs {
		val, err := jobsCtx.interpolate(o.Value)
		if err != nil {
			t.Fatalf("%s: output %s: %v", file, k, err)
		}
		out[k] = val
	}
	return map[string]any{"result": "success", "outputs": out, "jobs": sub.jobs}
}

// typedInput is v as a reusable workflow's input of type typ receives it.
func typedInput(typ string, v any) any {
	if n, ok := v.(int); ok { // a YAML default
		v = float64(n)
	}
	switch typ {
	case "number":
		return number(v)
	case "boolean":
		if s, ok := v.(string); ok {
			return s == "true"
		}
		return truthy(v)
	}
	if v == nil {
		return ""
	}
	return text(v)
}

// value is s evaluated: a string that is one whole ${{ }} keeps its type
// (a number stays a number), else s with its expressions filled in.
func (c *exprContext) value(s string) (any, error) {
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "${{") && strings.HasSuffix(trimmed, "}}") && strings.Count(trimmed, "${{") == 1 {
		return c.eval(trimmed)
	}
	return c.interpolate(s)
}

// compositeAction is the part of an action.yml the runner reads.
type compositeAction struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []wfStep `yaml:"steps"`
	} `yaml:"runs"`
}

// composite runs a composite action of the repository (step st uses
// ./PATH): its steps in order, in the job's clone and environment, with
// its inputs (the step's with: over the declared defaults) and a steps
// context of its own. A run: step without shell: is an error, as on
// GitHub.
func (r *actionsRun) composite(work string, env map[string]string, ctx *exprContext, st wfStep, with map[string]string) error {
	dir := filepath.Join(r.origin, strings.TrimPrefix(st.Uses, "./"))
	b, err := os.ReadFile(filepath.Join(dir, "action.yml"))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(dir, "action.yaml"))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", st.Uses, err)
	}
	var a compositeAction
	if err := yaml.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("%s: %w", st.Uses, err)
	}
	if a.Runs.Using != "composite" {
		r.t.Fatalf("%s: step %q uses %s, a %q action: the runner plays composite ones only", r.file, st.label(), st.Uses, a.Runs.Using)
	}
	inputs := map[string]any{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
	}
	for k, v := range with {
		if _, known := a.Inputs[k]; !known {
			return fmt.Errorf("%s: with.%s: the action takes no input %s", st.Uses, k, k)
		}
		inputs[k] = v
	}
	inner := &exprContext{vars: maps.Clone(ctx.vars), failed: ctx.failed}
	inner.vars["inputs"] = inputs
	steps := map[string]any{}
	inner.vars["steps"] = steps
	r.logf("-- step %q: composite action %s with %v", st.label(), st.Uses, inputs)
	var failed error
	for i, s := range a.Runs.Steps {
		inner.failed = failed != nil
		run, err := inner.condition(s.If)
		if err != nil {
			return fmt.Errorf("%s: step %q: if: %w", st.Uses, s.label(), err)
		}
		if !run {
			r.logf("-- step %q skipped (if: %s)", s.label(), s.If)
			continue
		}
		if s.Run != "" && s.Shell == "" {
			return fmt.Errorf("%s: step %q runs a script without shell:, which a composite action requires", st.Uses, s.label())
		}
		outputs, err := r.step(work, env, inner, s, i)
		if s.ID != "" {
			steps[s.ID] = map[string]any{"outputs": outputs, "outcome": pick(err == nil, "success", "failure")}
		}
		if err != nil && failed == nil {
			failed = fmt.Errorf("%s: step %q: %w", st.Uses, s.label(), err)
		}
	}
	return failed
}
