package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
)

// TrainOptions change how Train decides what to do.
type TrainOptions struct {
	// Force trains even when an identical finished run exists.
	Force bool
	// SweepID makes the run a trial of that sweep; only a finished run of
	// the same sweep makes it up to date.
	SweepID string
	// Devices, when not nil, is the run's CUDA_VISIBLE_DEVICES in place of
	// the user's ("" for no GPU): a sweep gives each trial its own.
	Devices *string
	// Env is added to every stage's environment, after everything else
	// (a sweep trial's thread caps).
	Env []string
	// Out, when not nil, takes the status lines and stage output in place
	// of the project's Out.
	Out io.Writer
	// Started is called once the run is in the ledger, before any stage.
	Started func(*record.Run)
	// Reproduces is the run a reproduction reruns (Reproduce), recorded in
	// the new run and its run.started event.
	Reproduces string
}

// TrainResult is what Train did.
type TrainResult struct {
	Run      *record.Run
	UpToDate bool // an identical finished run existed; nothing ran
}

// Train runs the data stages as needed and the train stage as a new run in
// the ledger. When a finished run with the same train key exists (same
// scripts, params, seed, data and requirements) nothing runs unless Force:
// that check reads no process and no large file.
func (p *Project) Train(ctx context.Context, exp *config.Experiment, opts TrainOptions) (*TrainResult, error) {
	train, ok := exp.Stage("train")
	if !ok {
		return nil, fmt.Errorf("experiment %s (%s) has no train stage: add one under stages:", exp.Name, exp.File)
	}
	p = p.with(opts)
	v := p.Venv(exp)
	reqHash, err := v.Hash()
	if err != nil {
		return nil, err
	}
	keys, err := p.keys(exp, reqHash)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if r, ok := p.upToDate(exp, keys["train"], opts.SweepID); ok {
			return &TrainResult{Run: r, UpToDate: true}, nil
		}
	}
	if _, err := v.Ensure(ctx, p.Out); err != nil {
		return nil, err
	}
	run, gpus, err := p.startRun(ctx, exp, keys["train"], reqHash, v, opts)
	if err != nil {
		return nil, err
	}
	if opts.Started != nil {
		opts.Started(run)
	}
	err = p.trainStages(ctx, exp, train, keys, v.Python(), run, opts.Env)
	gpus.stop(run)
	return &TrainResult{Run: run}, p.finishRun(run, err)
}

// with is p as a run with opts sees it: its own output and GPUs, and the
// variables its stages get recorded as they get them.
func (p *Project) with(opts TrainOptions) *Project {
	if opts.Out == nil && opts.Devices == nil && len(opts.Env) == 0 {
		return p
	}
	q := *p
	q.Settings.Lookup = lookupWith(stageVars(opts), p.Settings.Lookup)
	if opts.Out != nil {
		q.Out = opts.Out
	}
	if opts.Devices != nil {
		q.Settings.CUDAVisible, q.Settings.CUDAVisibleSet = *opts.Devices, true
	}
	return &q
}

// upToDate finds a finished run of exp with the given train key (in sweep,
// when not ""). It is a ledger query that stops at the newest match, so it
// stays fast on a ledger of a million runs.
func (p *Project) upToDate(exp *config.Experiment, key, sweep string) (*record.Run, bool) {
	where := "key=" + key + " status=finished"
	if sweep != "" {
		where += " sweep=" + sweep
	}
	s, ok := p.newest(exp.Name, where)
	if !ok {
		return nil, false
	}
	r, err := p.Ledger.ReadRecord(s.ID)
	if err != nil {
		p.warn(fmt.Sprintf("run %s is in the ledger but its record is unreadable (%v); training again", s.ID, err))
		return nil, false
	}
	return r, true
}

// newest returns the newest run of experiment matching where.
func (p *Project) newest(experiment, where string) (record.Summary, bool) {
	conds, err := query.ParseWhere(where)
	if err != nil {
		p.warn(err.Error())
		return record.Summary{}, false
	}
	runs, warnings, err := query.List(p.Ledger, query.Query{Experiment: experiment, Where: conds, Limit: 1})
	p.warn(warnings...)
	if err != nil {
		p.warn(err.Error())
		return record.Summary{}, false
	}
	if len(runs) == 0 {
		return record.Summary{}, false
	}
	return runs[0], true
}

// startRun creates the run directory and record, stamps it, starts its GPU
// telemetry and appends run.started.
func (p *Project) startRun(ctx context.Context, exp *config.Experiment, key, reqHash string, v venv.Venv, opts TrainOptions) (*record.Run, *gpuRun, error) {
	sweep := opts.SweepID
	id, err := record.NewID()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC()
	rel, _ := filepath.Rel(p.Root, exp.File)
	r := &record.Run{
		ID: id, Experiment: exp.Name, SweepID: sweep, ExperimentFile: rel, ExperimentHash: exp.Hash,
		Status: record.StatusRunning, Started: now, Key: key,
		Params: exp.Params, ParamsHash: exp.Params.Hash(),
		Metrics: map[string]float64{},
		Env:     record.Env{Python: v.Python(), RequirementsHash: reqHash},
	}
	r.Reproduces = opts.Reproduces
	dir := p.Ledger.RunDir(id)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "params.yaml"), exp.Params.YAML(), 0o644); err != nil {
		return nil, nil, fmt.Errorf("write params.yaml: %w", err)
	}
	p.stamp(ctx, r, v)
	gpus := p.startGPU(ctx, r)
	if err := p.Ledger.WriteRecord(r); err != nil {
		gpus.stop(r)
		return nil, nil, err
	}
	ev := record.Event{Type: record.EventRunStarted, Time: now, Run: id, Experiment: exp.Name, SweepID: sweep, Key: key,
		Params: exp.Params.Flatten(), Git: brief(r.Git), GPU: gpuBrief(r.GPU),
		Host: r.Process.Host, PID: r.Process.PID, PIDStart: r.Process.PIDStart}
	ev.Reproduces = r.Reproduces
	if err := p.Ledger.Append(ev); err != nil {
		gpus.stop(r)
		return nil, nil, err
	}
	fmt.Fprintf(p.Out, "run %s started (%s)\n", id, exp.Name)
	return r, gpus, nil
}

// stageBaseEnv is the environment stages start from: ours, with the run's
// own CUDA_VISIBLE_DEVICES when it was given one, and extra last (the later
// of two values wins).
func (p *Project) stageBaseEnv(extra []string) []string {
	env := p.environ()
	if p.Settings.CUDAVisibleSet {
		env = append(env, "CUDA_VISIBLE_DEVICES="+p.Settings.CUDAVisible)
	}
	return append(env, extra...)
}

// trainStages runs the data stages and the train stage into the run.
func (p *Project) trainStages(ctx context.Context, exp *config.Experiment, train config.Stage, keys map[string]string, python string, run *record.Run, env []string) error {
	dir := p.Ledger.RunDir(run.ID)
	ensure := func() (string, error) { return python, nil }
	data, err := p.data(ctx, exp, keys, "", ensure, dataRun{ID: run.ID, Dir: dir, Env: env})
	run.Stages = append(run.Stages, data.Stages...)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(p.Out, "train: running %s\n", describe(train))
	spec := stageSpec{Stage: train, Root: p.Root, Python: python, Params: exp.Params, ParamsFile: filepath.Join(dir, "params.json"),
		In: data.Dir, Out: out, RunID: run.ID, RunDir: dir, BaseEnv: p.stageBaseEnv(env)}
	rec, err := runStage(ctx, spec, filepath.Join(dir, "logs", "train.log"), p.Out)
	rec.Key = keys["train"]
	run.SetStage(rec)
	if err != nil {
		return err
	}
	metrics, err := stageMetrics(spec, rec.Log)
	if err != nil {
		return &StageError{Stage: "train", RunID: run.ID, ExitCode: 1, Log: rec.Log, Err: err}
	}
	run.Metrics = metrics
	run.Framework = readFramework(out)
	return nil
}

// stageMetrics reads the metrics a stage produced: OUTPUT_DIR/metrics.json,
// the file a command stage declares, or else name=value lines in its log.
// Metrics found only in the log are written to OUTPUT_DIR/metrics.json.
func stageMetrics(s stageSpec, log string) (map[string]float64, error) {
	path := filepath.Join(s.Out, "metrics.json")
	if s.Stage.IsCmd() && s.Stage.Metrics != "" {
		p, err := config.ExpandPath(s.Stage.Metrics, s.Params, s.templateVars())
		if err != nil {
			return nil, err
		}
		path = p
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.Root, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("declared metrics file %s was not written by the command (%w)", path, err)
		}
	}
	m, err := ReadMetrics(path)
	if err != nil || m != nil || !s.Stage.IsCmd() {
		return m, err
	}
	f, err := os.Open(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m = ParseMetricLines(f)
	if len(m) > 0 {
		b := jsonMetrics(m)
		if err := os.WriteFile(filepath.Join(s.Out, "metrics.json"), b, 0o644); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// finishRun stamps the run's end from stageErr, writes its record and
// appends run.finished. The ledger is written even when ctx was cancelled.
func (p *Project) finishRun(run *record.Run, stageErr error) error {
	status, code := record.StatusFinished, 0
	var se *StageError
	switch {
	case stageErr == nil:
	case errors.As(stageErr, &se) && se.ExitCode == proc.ExitInterrupted, isInterrupted(stageErr):
		status, code = record.StatusInterrupted, proc.ExitInterrupted
	case errors.As(stageErr, &se):
		status, code = record.StatusFailed, se.ExitCode
		if code == 0 {
			code = 1
		}
	default:
		status, code = record.StatusFailed, 1
	}
	if stageErr != nil {
		run.Error = stageErr.Error()
	}
	now := time.Now().UTC()
	run.Finish(status, code, now)
	err := p.Ledger.WriteRecord(run)
	ev := record.Event{Type: record.EventRunFinished, Time: now, Run: run.ID, Status: status, ExitCode: &code,
		Duration: run.DurationSec, Metrics: run.Metrics}
	ev.Verdict = run.Verdict
	if aerr := p.Ledger.Append(ev); err == nil {
		err = aerr
	}
	if stageErr != nil {
		return stageErr
	}
	return err
}

func isInterrupted(err error) bool {
	var ie *proc.InterruptedError
	return errors.As(err, &ie)
}

func (p *Project) warn(msgs ...string) {
	for _, m := range msgs {
		fmt.Fprintf(p.Out, "warning: %s\n", m)
	}
}

// FormatMetrics renders metrics as sorted name=value pairs.
func FormatMetrics(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%.4g", k, m[k])
	}
	return strings.Join(parts, " ")
}
