package runner

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/metrics"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

// TrainOptions change how Train decides what to do.
type TrainOptions struct {
	RunOptions
	// Force trains even when an identical finished run exists.
	Force bool
	// Started is called once the run is in the ledger, before any stage.
	Started func(*record.Run)
}

// TrainResult is what Train did.
type TrainResult struct {
	Run      *record.Run
	UpToDate bool // an identical finished run existed; nothing ran
}

// Train runs the data stages as needed and the train stage as a new run in
// the ledger. When a finished run with the same train key exists (same
// scripts, params, seed, data and requirements; in the same sweep, for a
// trial) nothing runs unless Force: that check reads no process and no
// large file.
func (p *Project) Train(ctx context.Context, exp *config.Experiment, opts TrainOptions) (*TrainResult, error) {
	train, ok := exp.Stage("train")
	if !ok {
		return nil, fmt.Errorf("experiment %s (%s) has no train stage: add one under stages:", exp.Name, exp.File)
	}
	out := p.Out
	if opts.Out != nil {
		out = opts.Out
	}
	v := p.Venv(exp)
	reqHash, err := v.Hash()
	if err != nil {
		return nil, err
	}
	keys, err := p.stageKeys(exp, reqHash, out)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if r, ok := p.upToDate(exp, keys["train"], opts.SweepID, out); ok {
			return &TrainResult{Run: r, UpToDate: true}, nil
		}
	}
	if _, err := v.Ensure(ctx, out); err != nil {
		return nil, err
	}
	run, err := p.StartRun(ctx, exp, keys["train"], reqHash, v, opts.RunOptions)
	if err != nil {
		return nil, err
	}
	if opts.Started != nil {
		opts.Started(run.Record)
	}
	err = run.Train(ctx, exp, train, keys, v.Python())
	return &TrainResult{Run: run.Record}, run.Finish(err)
}

// upToDate finds a finished run of exp with the given train key (in sweep,
// when not ""). It is a ledger query that stops at the newest match, so it
// stays fast on a ledger of a million runs.
func (p *Project) upToDate(exp *config.Experiment, key, sweep string, out io.Writer) (*record.Run, bool) {
	where := []query.Cond{query.Eq("key", key), query.Eq("status", string(record.StatusFinished))}
	if sweep != "" {
		where = append(where, query.Eq("sweep", sweep))
	}
	s, ok := p.newest(exp.Name, where, out)
	if !ok {
		return nil, false
	}
	r, err := p.Ledger.ReadRecord(s.ID)
	if err != nil {
		warnTo(out, fmt.Sprintf("run %s is in the ledger but its record is unreadable (%v); training again", s.ID, err))
		return nil, false
	}
	return r, true
}

// newest returns the newest run of experiment matching every condition.
func (p *Project) newest(experiment string, where []query.Cond, out io.Writer) (record.Summary, bool) {
	runs, warnings, err := query.List(p.Ledger, query.Query{Experiment: experiment, Where: where, Limit: 1})
	warnTo(out, warnings...)
	if err != nil {
		warnTo(out, err.Error())
		return record.Summary{}, false
	}
	if len(runs) == 0 {
		return record.Summary{}, false
	}
	return runs[0], true
}

// stageMetrics reads the metrics a stage produced (internal/metrics, in
// its order of precedence) and writes them to OUTPUT_DIR/metrics.json and
// their steps to metrics.jsonl, where the stage did not write those files
// itself. The train stage's event files and CSV logs are looked for
// anywhere in the run's directory but its logs, saved untracked files and
// eval output; the eval stage's in its own output. Only a command stage's
// output is read for metrics. Warnings (a torn event file) go to out.
func stageMetrics(s stageSpec, log string, out io.Writer) (*metrics.Result, error) {
	in := metrics.Input{Stage: s.Stage.Name, Out: s.Out, Search: []string{s.Out}, Base: s.RunDir}
	if s.Stage.Name == "train" && s.RunDir != "" {
		in.Search = []string{s.RunDir}
		in.Skip = []string{filepath.Join(s.RunDir, "logs"), filepath.Join(s.RunDir, "untracked"), filepath.Join(s.RunDir, "eval")}
	}
	if s.Stage.IsCmd() {
		in.Log, in.Patterns, in.Capture = log, s.Stage.Patterns, true
		if s.Stage.Metrics != "" {
			p, err := config.ExpandPath(s.Stage.Metrics, s.Params, s.templateVars())
			if err != nil {
				return nil, err
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(s.Root, p)
			}
			in.Declared = p
		}
	}
	res, err := metrics.Collect(in)
	if err != nil {
		return nil, err
	}
	warnTo(out, res.Warnings...)
	return res, res.WriteFiles(s.Out)
}
