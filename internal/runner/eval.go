package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/metrics"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

// EvalOptions pick the run to evaluate.
type EvalOptions struct {
	// RunID is a full or short run id; empty means the newest finished run
	// of the experiment, trained first when there is none.
	RunID string
	// Force evaluates again even when the run was evaluated with the same
	// eval key.
	Force bool
}

// EvalResult is what Eval did.
type EvalResult struct {
	Run      *record.Run
	Metrics  map[string]float64 // the eval stage's metrics
	UpToDate bool
}

// Eval evaluates a run with the experiment's eval stage and adds the
// metrics to that run. The data stages run with the run's own params; the
// eval section comes from the experiment as loaded (with its overrides).
func (p *Project) Eval(ctx context.Context, exp *config.Experiment, opts EvalOptions) (*EvalResult, error) {
	stage, ok := exp.Stage("eval")
	if !ok {
		return nil, fmt.Errorf("experiment %s (%s) has no eval stage: add one under stages:", exp.Name, exp.File)
	}
	run, err := p.evalTarget(ctx, exp, opts.RunID)
	if err != nil {
		return nil, err
	}
	runExp := *exp
	params, err := p.RunParams(run)
	if err != nil {
		// An older run without params.json: run.json's params, whose
		// integers decoding turned into floats, are the best there is.
		params = run.Params
	}
	runExp.Params = withSection(params, exp.Params, config.SectionsFor("eval"))
	if seed, ok := run.Params["seed"].(float64); ok {
		runExp.Seed = int(seed)
	}
	v := p.Venv(&runExp)
	reqHash, err := v.Hash()
	if err != nil {
		return nil, err
	}
	key, keys, err := p.EvalKey(&runExp, run.Key, reqHash)
	if err != nil {
		return nil, err
	}
	if prev, i := run.Stage("eval"); i >= 0 && prev.Key == key && prev.ExitCode == 0 && !opts.Force {
		fmt.Fprintf(p.Out, "eval: up to date for run %s (same eval script, params and data)\n", run.ID)
		return &EvalResult{Run: run, Metrics: run.Metrics, UpToDate: true}, nil
	}
	if _, err := v.Ensure(ctx, p.Out); err != nil {
		return nil, err
	}
	rec, found, err := p.EvalStage(ctx, &runExp, stage, keys, key, v.Python(), run)
	if err != nil {
		return nil, err
	}
	return &EvalResult{Run: run, Metrics: found.Metrics}, p.recordEval(run, rec, found)
}

// EvalKey is the eval stage's key for exp evaluating the model of the
// train stage with trainKey, and the keys of the data stages it reads.
func (p *Project) EvalKey(exp *config.Experiment, trainKey, reqHash string) (string, map[string]string, error) {
	keys, err := p.StageKeys(exp, reqHash)
	if err != nil {
		return "", nil, err
	}
	var upstream []string
	for _, s := range exp.Upstream("eval") {
		if s.Name != "train" {
			upstream = append(upstream, keys[s.Name])
		}
	}
	key, err := exp.StageKey("eval", append(upstream, trainKey), reqHash, p.hashes)
	return key, keys, err
}

// evalTarget resolves the run to evaluate, training one when the experiment
// has no finished run yet.
func (p *Project) evalTarget(ctx context.Context, exp *config.Experiment, id string) (*record.Run, error) {
	if id != "" {
		runs, warnings, err := query.Find(p.Ledger, id)
		p.Warn(warnings...)
		if err != nil {
			return nil, err
		}
		if s := runs[0]; s.Status != record.StatusFinished {
			return nil, fmt.Errorf("run %s is %s: only a finished run can be evaluated", s.ID, s.Status)
		}
		return p.Ledger.ReadRecord(runs[0].ID)
	}
	if s, ok := p.newest(exp.Name, []query.Cond{query.Eq("status", string(record.StatusFinished))}, p.Out); ok {
		return p.Ledger.ReadRecord(s.ID)
	}
	fmt.Fprintf(p.Out, "eval: experiment %s has no finished run; training one first\n", exp.Name)
	res, err := p.Train(ctx, exp, TrainOptions{})
	if err != nil {
		return nil, err
	}
	return res.Run, nil
}

// EvalStage runs the eval stage on run's model into runs/<id>/eval and
// returns its record and metrics, leaving the run's record as it is.
func (p *Project) EvalStage(ctx context.Context, exp *config.Experiment, stage config.Stage, keys map[string]string, key, python string, run *record.Run) (record.StageRecord, *metrics.Result, error) {
	dir := p.Ledger.RunDir(run.ID)
	ensure := func() (string, error) { return python, nil }
	data, err := p.data(ctx, exp, keys, "", ensure, dataRun{ID: run.ID, Dir: dir, BaseEnv: stageBaseEnv(p.Environ(), p.Settings, nil), Out: p.Out})
	if err != nil {
		return record.StageRecord{}, nil, err
	}
	out := filepath.Join(dir, "eval")
	if err := os.RemoveAll(out); err != nil {
		return record.StageRecord{}, nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return record.StageRecord{}, nil, err
	}
	fmt.Fprintf(p.Out, "eval: evaluating run %s with %s\n", run.ID, describe(stage))
	spec := stageSpec{Stage: stage, Root: p.Root, Python: python, Params: exp.Params, ParamsFile: filepath.Join(out, "params.json"),
		In: data.Dir, Model: filepath.Join(dir, "out"), Out: out, RunID: run.ID, RunDir: dir, BaseEnv: p.Environ()}
	rec, err := runStage(ctx, spec, filepath.Join(dir, "logs", "eval.log"), p.Out)
	rec.Key = key
	if err != nil {
		return rec, nil, err
	}
	found, err := stageMetrics(spec, rec.Log, p.Out)
	if err != nil {
		return rec, nil, &StageError{Stage: "eval", RunID: run.ID, ExitCode: 1, Log: rec.Log, Err: err}
	}
	return rec, found, nil
}

// recordEval adds the eval stage and its metrics to the run's record and
// appends run.evaluated.
func (p *Project) recordEval(run *record.Run, rec record.StageRecord, found *metrics.Result) error {
	run.SetStage(rec)
	run.AddMetrics(found.Metrics, found.Sources)
	if err := p.Ledger.WriteRecord(run); err != nil {
		return err
	}
	ev := record.Event{Type: record.EventRunEvaluated, Time: time.Now().UTC(), Run: run.ID, Metrics: found.Metrics}
	return p.Ledger.Append(ev)
}

// withSection returns the run's params with the named sections taken from
// current instead.
func withSection(run map[string]any, current config.Params, sections []string) config.Params {
	out := config.Params{}
	for k, v := range run {
		out[k] = v
	}
	for _, s := range sections {
		if v, ok := current[s]; ok {
			out[s] = v
		} else {
			delete(out, s)
		}
	}
	return out
}

// RunParams restores a run's resolved params exactly: from its
// params.json, else from run.json, checked against its params hash.
func (p *Project) RunParams(run *record.Run) (config.Params, error) {
	file := filepath.Join(p.Ledger.RunDir(run.ID), "params.json")
	candidates := [][]byte{}
	if b, err := os.ReadFile(file); err == nil {
		candidates = append(candidates, b)
	}
	if b, err := json.Marshal(run.Params); err == nil && run.Params != nil {
		candidates = append(candidates, b)
	}
	for _, b := range candidates {
		params, err := config.ParseParams(b)
		if err == nil && (run.ParamsHash == "" || params.Hash() == run.ParamsHash) {
			return params, nil
		}
	}
	return nil, fmt.Errorf("run %s: its resolved params cannot be restored exactly: %s is missing or unreadable, and run.json's params do not hash to its params_hash", run.ID, file)
}
