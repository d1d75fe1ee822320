package reproduce

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/venv"
)

// ExitDrifted is the exit status of a reproduction that ran to the end but
// whose metrics differ from the original's: distinct from 1 (a failure)
// and 2 (usage), so that CI can gate on it.
const ExitDrifted = 3

// DriftError is a reproduction whose metrics drifted. The target layer
// exits with ExitDrifted for it.
type DriftError struct {
	Run, Original string
	Drifted       []string // the metrics that differ
	Tolerance     float64
	Withheld      []string // untracked files the original had and the reproduction ran without
}

func (e *DriftError) Error() string {
	tol := "exactly"
	if e.Tolerance > 0 {
		tol = "within relative tolerance " + strconv.FormatFloat(e.Tolerance, 'g', -1, 64)
	}
	msg := fmt.Sprintf("run %s does not reproduce run %s: %s did not match %s (verdict: drifted)", e.Run, e.Original, strings.Join(e.Drifted, ", "), tol)
	if len(e.Withheld) > 0 {
		msg += fmt.Sprintf("; it ran without %s, withheld from the original's record as credentials, which may explain it", strings.Join(e.Withheld, ", "))
	}
	return msg
}

// ExitStatus is the status Mage exits with for this error.
func (e *DriftError) ExitStatus() int { return ExitDrifted }

// Options change how Reproduce reruns a run.
type Options struct {
	// Tolerance, when set, is the relative metric difference allowed
	// instead of the experiment's reproduce.tolerance (0: identical).
	Tolerance *float64
	// FreshEnv builds a temporary venv from the run's pip-freeze.txt
	// instead of running on the project venv.
	FreshEnv bool
}

// Result is what Reproduce did.
type Result struct {
	Original   *record.Run
	Run        *record.Run // the reproduction; nil when it never started
	Comparison Comparison  // set when the reproduction ran to the end
}

// reproducer is a project doing a reproduction: the user's project, or
// the project as seen from the reproduction's checkout.
type reproducer struct{ *runner.Project }

// Run reruns the recorded run id of project p from its exact code: its commit
// checked out in a temporary linked worktree, with its uncommitted changes
// (git.patch) applied and its untracked files restored, leaving the user's
// checkout and index alone. It runs the stages the run ran, with the same
// experiment file, resolved params and seed and the same determinism and
// thread variables, bypassing the stage cache, as a new run that records
// `reproduces: id`; then compares every metric of the original with the
// new run's and records the verdict. Metrics that drift are a *DriftError.
// The worktree, its stage cache and any temporary venv are removed when it
// returns, also on failure or interruption.
func Run(ctx context.Context, project *runner.Project, id string, opts Options) (*Result, error) {
	p := &reproducer{project}
	res, err := p.reproduce(ctx, id, opts)
	return res, stopped(ctx, id, err)
}

// stopped turns an error met after ctx was cancelled (a git call killed
// half-way, say) into an *InterruptedError, so that Ctrl-C exits with 130
// at whatever step it came.
func stopped(ctx context.Context, id string, err error) error {
	var se *runner.StageError
	var ie *proc.InterruptedError
	var de *DriftError
	if err == nil || ctx.Err() == nil || errors.As(err, &se) || errors.As(err, &ie) || errors.As(err, &de) {
		return err
	}
	return &proc.InterruptedError{What: "reproduce run " + id}
}

func (p *reproducer) reproduce(ctx context.Context, id string, opts Options) (*Result, error) {
	if t := opts.Tolerance; t != nil && (*t < 0 || math.IsNaN(*t) || math.IsInf(*t, 0)) {
		return nil, fmt.Errorf("-tol: the tolerance is a relative difference, 0 or more (got %v)", *t)
	}
	orig, err := p.reproducible(id)
	if err != nil {
		return nil, err
	}
	src, err := p.sourceOf(ctx, orig)
	if err != nil {
		return nil, err
	}
	c, err := p.checkout(ctx, orig, src)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := c.Close(); err != nil {
			p.Warn(err.Error())
		}
	}()
	p.announce(orig, src, c)
	res := &Result{Original: orig}
	rp, exp, in, err := p.prepare(ctx, orig, c, opts)
	if err != nil {
		return res, err
	}
	res.Run, res.Comparison, err = rp.rerun(ctx, orig, exp, in)
	if err != nil {
		return res, err
	}
	if drifted := res.Comparison.Drifted(); len(drifted) > 0 {
		return res, &DriftError{Run: res.Run.ID, Original: orig.ID, Drifted: drifted, Tolerance: in.tol, Withheld: orig.Git.Withheld}
	}
	return res, nil
}

// prepare loads the run's experiment from the checkout with its params,
// picks the venv, the environment and the tolerance, and returns the
// project the reproduction runs in with its stage keys.
func (p *reproducer) prepare(ctx context.Context, orig *record.Run, c *checkout, opts Options) (*reproducer, *config.Experiment, rerunInputs, error) {
	exp, warnings, err := p.reproducedExperiment(orig, c)
	if err != nil {
		return nil, nil, rerunInputs{}, err
	}
	in := rerunInputs{tol: exp.Reproduce.Tolerance}
	if opts.Tolerance != nil {
		in.tol = *opts.Tolerance
	}
	if in.venv, in.reqHash, err = p.reproduceVenv(ctx, orig, exp, c, opts.FreshEnv); err != nil {
		return nil, nil, in, err
	}
	env, notes := reproduceEnv(p.Environ(), orig.Env.Vars)
	for _, n := range notes {
		fmt.Fprintf(p.Out, "reproduce: %s\n", n)
	}
	rp := p.reproduction(c, in.venv, env)
	if in.keys, err = rp.StageKeys(exp, in.reqHash); err != nil {
		return nil, nil, in, err
	}
	in.warnings = append(warnings, rp.checkKeys(orig, exp, in.keys, in.reqHash)...)
	return rp, exp, in, nil
}

// reproducible reads the record of run id and checks that it can be
// reproduced at all.
func (p *reproducer) reproducible(id string) (*record.Run, error) {
	found, warnings, err := query.Find(p.Ledger, id)
	p.Warn(warnings...)
	if err != nil {
		return nil, err
	}
	s := found[0]
	if s.Status != record.StatusFinished {
		return nil, fmt.Errorf("run %s has status %s: only a finished run can be reproduced", s.ID, s.Status)
	}
	run, err := p.Ledger.ReadRecord(s.ID)
	if err != nil {
		return nil, fmt.Errorf("run %s cannot be reproduced without its record (runs/%s/run.json): %w", s.ID, s.ID, err)
	}
	if f := run.ExperimentFile; f == "" || !filepath.IsLocal(f) {
		return nil, fmt.Errorf("run %s: its experiment file %q is not a file of the project, so it cannot be restored from git", run.ID, f)
	}
	return run, nil
}

// announce says what is being reproduced, from where.
func (p *reproducer) announce(run *record.Run, src source, c *checkout) {
	what := "commit " + record.ShortSHA(src.sha)
	if src.patch != "" {
		what += " + " + filepath.Base(src.patch)
	}
	if n := len(src.untracked); n > 0 {
		what += fmt.Sprintf(" + %d untracked file%s", n, plural(n))
	}
	rel, _ := filepath.Rel(p.Root, c.Tree)
	fmt.Fprintf(p.Out, "reproduce: run %s (%s, %s) checked out in %s\n", run.ID, run.Experiment, what, rel)
	for _, u := range src.unsaved {
		p.Warn(fmt.Sprintf("the run's untracked file %s was only listed, not saved (over the size cap): the reproduction runs without it", u))
	}
	for _, u := range src.withheld {
		p.Warn(fmt.Sprintf("the run's untracked file %s was withheld: its name says it holds credentials, so it was never saved, and the reproduction runs WITHOUT it (a run that reads it may fail or drift)", u))
	}
}

// reproducedExperiment loads the run's experiment file from the checkout
// and gives it the run's resolved params (its -set overrides included).
func (p *reproducer) reproducedExperiment(run *record.Run, c *checkout) (*config.Experiment, []string, error) {
	exp, err := config.Load(c.Root, run.ExperimentFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reproduce run %s: %w", run.ID, err)
	}
	var warnings []string
	if run.ExperimentHash != "" && exp.Hash != run.ExperimentHash {
		warnings = append(warnings, fmt.Sprintf("%s, restored from the run's commit and changes, is not the file the run used (its hash differs)", run.ExperimentFile))
		p.Warn(warnings...)
	}
	params, err := p.RunParams(run)
	if err != nil {
		return nil, nil, err
	}
	exp.Params = params
	if seed, ok := params["seed"].(int); ok {
		exp.Seed = seed
	}
	return exp, warnings, nil
}

// reproduction is the project as the reproduction sees it: rooted in the
// checkout, on venv v, with env for its stages, and a stage cache of its
// own beside the checkout, so the project's cache is neither read nor
// written. The ledger is the project's.
func (p *reproducer) reproduction(c *checkout, v venv.Venv, env []string) *reproducer {
	s := p.Settings
	s.VenvDir = v.Dir
	s.Lookup = func(name string) (string, bool) {
		if env == nil {
			return "", false
		}
		return proc.LookupEnv(env, name)
	}
	return &reproducer{runner.NewProjectWith(c.Root, s, p.Out, runner.Options{Ledger: p.Ledger, StateDir: c.Dir, Env: env})}
}

// checkKeys compares the stage keys of the restored inputs, computed with
// the run's requirements hash, with the keys the run recorded: a
// difference means some input (a script, a module it imports, params, the
// seed, a declared dep outside git) is not what the run used.
func (p *reproducer) checkKeys(run *record.Run, exp *config.Experiment, keys map[string]string, reqHash string) []string {
	if reqHash != run.Env.RequirementsHash {
		var err error
		if keys, err = p.StageKeys(exp, run.Env.RequirementsHash); err != nil {
			return nil
		}
	}
	var warnings []string
	for _, s := range run.Stages {
		if s.Name == "eval" || s.Key == "" {
			continue
		}
		k, ok := keys[s.Name]
		switch {
		case !ok:
			warnings = append(warnings, fmt.Sprintf("the run ran stage %s, which its experiment file at its commit does not configure", s.Name))
		case k != s.Key:
			warnings = append(warnings, fmt.Sprintf("stage %s's inputs differ from the run's (key %s, the run recorded %s): a script, a module it imports, a param or a declared dep is not what the run used", s.Name, record.ShortKey(k), record.ShortKey(s.Key)))
		}
	}
	p.Warn(warnings...)
	return warnings
}

// rerunInputs is what rerun needs besides the runs.
type rerunInputs struct {
	keys     map[string]string
	reqHash  string
	venv     venv.Venv
	tol      float64
	warnings []string
}

// rerun runs the stages of the original as a new run, compares the
// metrics and records the verdict.
func (p *reproducer) rerun(ctx context.Context, orig *record.Run, exp *config.Experiment, in rerunInputs) (*record.Run, Comparison, error) {
	train, ok := exp.Stage("train")
	if !ok {
		return nil, Comparison{}, fmt.Errorf("reproduce run %s: %s at its commit has no train stage", orig.ID, orig.ExperimentFile)
	}
	run, err := p.StartRun(ctx, exp, in.keys["train"], in.reqHash, in.venv, runner.RunOptions{Reproduces: orig.ID})
	if err != nil {
		return nil, Comparison{}, err
	}
	r := run.Record
	r.Warnings = append(r.Warnings, in.warnings...)
	r.Warnings = append(r.Warnings, p.envDiff(orig, r)...)
	err = run.Train(ctx, exp, train, in.keys, in.venv.Python())
	if err == nil {
		err = p.rerunEval(ctx, orig, exp, in, r)
	}
	var cmp Comparison
	if err == nil {
		cmp = CompareMetrics(orig.Metrics, r.Metrics, in.tol)
		r.Verdict = cmp.Verdict()
	}
	return r, cmp, run.Finish(err)
}

// rerunEval runs the eval stage when the original was evaluated, with the
// eval params it was evaluated with, and adds its metrics to run.
func (p *reproducer) rerunEval(ctx context.Context, orig *record.Run, exp *config.Experiment, in rerunInputs, run *record.Run) error {
	prev, i := orig.Stage("eval")
	if i < 0 {
		return nil
	}
	stage, ok := exp.Stage("eval")
	if !ok {
		w := fmt.Sprintf("run %s was evaluated, but %s at its commit has no eval stage: its eval metrics cannot be reproduced", orig.ID, orig.ExperimentFile)
		p.Warn(w)
		run.Warnings = append(run.Warnings, w)
		return nil
	}
	// The eval stage runs as Eval ran it: with the params the original's
	// eval got (the run's, with the eval section it was evaluated with),
	// on the data stages' output for those params, and the model of run.
	evalExp := *exp
	if params, err := p.evalParams(orig); err == nil {
		evalExp.Params = params
	}
	key, keys, err := p.EvalKey(&evalExp, run.Key, in.reqHash)
	if err != nil {
		return err
	}
	if check, _, err := p.EvalKey(&evalExp, orig.Key, orig.Env.RequirementsHash); err == nil && check != prev.Key {
		w := fmt.Sprintf("run %s was evaluated with another eval script, module or eval params than its commit holds (evaluated later from another checkout?): its eval metrics may not reproduce", orig.ID)
		p.Warn(w)
		run.Warnings = append(run.Warnings, w)
	}
	rec, found, err := p.EvalStage(ctx, &evalExp, stage, keys, key, in.venv.Python(), run)
	if rec.Name != "" {
		run.SetStage(rec)
	}
	if err != nil {
		return err
	}
	run.AddMetrics(found.Metrics, found.Sources)
	return nil
}

// evalParams are the params the original's last eval stage ran with (its
// eval/params.json).
func (p *reproducer) evalParams(run *record.Run) (config.Params, error) {
	b, err := os.ReadFile(filepath.Join(p.Ledger.RunDir(run.ID), "eval", "params.json"))
	if err != nil {
		return nil, err
	}
	return config.ParseParams(b)
}

// envDiff says how the reproduction's Python and packages differ from the
// original's, comparing the two runs' pip-freeze.txt.
func (p *reproducer) envDiff(orig, run *record.Run) []string {
	var out []string
	if a, b := orig.Env.PythonVersion, run.Env.PythonVersion; a != "" && b != "" && a != b {
		out = append(out, fmt.Sprintf("env: Python %s, the run had %s", b, a))
	}
	read := func(r *record.Run) (string, bool) {
		if r.Env.PipFreeze == "" || !filepath.IsLocal(r.Env.PipFreeze) {
			return "", false
		}
		b, err := os.ReadFile(filepath.Join(p.Ledger.RunDir(r.ID), r.Env.PipFreeze))
		return string(b), err == nil
	}
	a, okA := read(orig)
	b, okB := read(run)
	if d := freezeDiff(a, b); okA && okB && len(d) > 0 {
		const show = 15
		more := ""
		if len(d) > show {
			more = fmt.Sprintf("; and %d more", len(d)-show)
			d = d[:show]
		}
		out = append(out, fmt.Sprintf("env: packages differ from run %s's: %s%s", record.ShortID(orig.ID), strings.Join(d, "; "), more))
	}
	p.Warn(out...)
	return out
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
