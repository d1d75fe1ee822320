package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
	"github.com/magelab/magelab/internal/venv"
)

// RunOptions say how a run is recorded and what its stages get.
type RunOptions struct {
	// SweepID makes the run a trial of that sweep.
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
	// Reproduces is the run a reproduction reruns, recorded in the new run
	// and its run.started event.
	Reproduces string
	// ResumeDir is an earlier attempt's output that the train stage may
	// resume from: ${resume_dir} and MAGELAB_RESUME_DIR (a preempted trial
	// run again). "" gives ${resume_dir} as an empty word and no variable.
	ResumeDir string
}

// Run is a run in progress: StartRun puts it in the ledger, its stages run
// into its directory, and Finish records how it ended. Its settings are the
// project's with the run's own GPUs and the variables its stages get, so
// that it is stamped with what its stages ran with.
type Run struct {
	Record   *record.Run
	p        *Project
	ctx      context.Context // the run's: its cause says whether a cluster preempted it
	out      io.Writer
	settings Settings
	env      []string
	resume   string
	gpus     *gpuRun
}

// StartRun creates the run directory and record of a run of exp whose
// train stage has key, stamps it, starts its GPU telemetry and appends
// run.started.
func (p *Project) StartRun(ctx context.Context, exp *config.Experiment, key, reqHash string, v venv.Venv, opts RunOptions) (*Run, error) {
	r := &Run{p: p, ctx: ctx, out: p.Out, settings: p.Settings, env: opts.Env, resume: opts.ResumeDir}
	if opts.Out != nil {
		r.out = opts.Out
	}
	r.settings.Lookup = lookupWith(stageVars(opts), p.Settings.Lookup)
	if opts.Devices != nil {
		r.settings.CUDAVisible, r.settings.CUDAVisibleSet = *opts.Devices, true
	}
	id, err := record.NewID()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	rel, _ := filepath.Rel(p.Root, exp.File)
	r.Record = &record.Run{
		ID: id, Experiment: exp.Name, SweepID: opts.SweepID, ExperimentFile: rel, ExperimentHash: exp.Hash,
		Status: record.StatusRunning, Started: now, Key: key,
		Params: exp.Params, ParamsHash: exp.Params.Hash(),
		Metrics:    map[string]float64{},
		Env:        record.Env{Python: v.Python(), RequirementsHash: reqHash},
		Reproduces: opts.Reproduces,
	}
	p.tidy()
	if err := p.announce(id); err != nil {
		return nil, fmt.Errorf("start run: %w", err)
	}
	dir := r.Dir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "params.yaml"), exp.Params.YAML(), 0o644); err != nil {
		return nil, fmt.Errorf("write params.yaml: %w", err)
	}
	r.stamp(ctx, v, exp.Secrets.Withhold)
	r.gpus = r.startGPU(ctx)
	if err := p.records.WriteRecord(r.Record); err != nil {
		r.gpus.stop(r.Record)
		return nil, err
	}
	ev := record.Event{Type: record.EventRunStarted, Time: now, Run: id, Experiment: exp.Name, SweepID: opts.SweepID, Key: key,
		Params: exp.Params.Flatten(), Git: brief(r.Record.Git), GPU: gpuBrief(r.Record.GPU),
		Host: r.Record.Process.Host, PID: r.Record.Process.PID, PIDStart: r.Record.Process.PIDStart,
		Slurm: stamp.SlurmJob(r.settings.Lookup), Reproduces: opts.Reproduces}
	if err := p.records.Append(ev); err != nil {
		r.gpus.stop(r.Record)
		return nil, err
	}
	p.announced(id)
	fmt.Fprintf(r.out, "run %s started (%s)\n", id, exp.Name)
	return r, nil
}

// Dir is the run's directory.
func (r *Run) Dir() string { return r.p.Ledger.RunDir(r.Record.ID) }

// Warn writes warnings where the run's status lines go.
func (r *Run) Warn(msgs ...string) { warnTo(r.out, msgs...) }

// baseEnv is the environment the run's stages start from: the project's,
// with the run's own CUDA_VISIBLE_DEVICES when it was given one, and the
// run's Env last (the later of two values wins).
func (r *Run) baseEnv() []string {
	return stageBaseEnv(r.p.Environ(), r.settings, r.env)
}

// stageBaseEnv is env with CUDA_VISIBLE_DEVICES as s says, when set, and
// extra last.
func stageBaseEnv(env []string, s Settings, extra []string) []string {
	if s.CUDAVisibleSet {
		env = append(env, "CUDA_VISIBLE_DEVICES="+s.CUDAVisible)
	}
	return append(env, extra...)
}

// Train runs the data stages and the train stage into the run, on the
// venv's python, and takes the train stage's metrics as the run's.
func (r *Run) Train(ctx context.Context, exp *config.Experiment, train config.Stage, keys map[string]string, python string) error {
	run, dir := r.Record, r.Dir()
	ensure := func() (string, error) { return python, nil }
	data, err := r.p.data(ctx, exp, keys, "", ensure, dataRun{ID: run.ID, Dir: dir, BaseEnv: r.baseEnv(), Out: r.out})
	run.Stages = append(run.Stages, data.Stages...)
	if err != nil {
		return firstErr(prunedCause(ctx), err)
	}
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "train: running %s\n", describe(train))
	spec := stageSpec{Stage: train, Root: r.p.Root, Python: python, Params: exp.Params, ParamsFile: filepath.Join(dir, "params.json"),
		In: data.Dir, Out: out, RunID: run.ID, RunDir: dir, BaseEnv: r.baseEnv(), ResumeDir: r.resume}
	rec, err := runStage(ctx, spec, filepath.Join(dir, "logs", "train.log"), r.out)
	rec.Key = keys["train"]
	run.SetStage(rec)
	if err != nil {
		// A trial that early stopping cancelled is pruned, not interrupted.
		return firstErr(prunedCause(ctx), err)
	}
	found, err := stageMetrics(spec, rec.Log, r.out)
	if err != nil {
		return &StageError{Stage: "train", RunID: run.ID, ExitCode: 1, Log: rec.Log, Err: err}
	}
	run.Metrics, run.MetricSources = found.Metrics, found.Sources
	run.Framework = readFramework(out)
	return nil
}

// Finish stops the run's GPU telemetry, stamps its end from stageErr,
// writes its record and appends run.finished. The ledger is written even
// when the run's context was cancelled, and never says more than run.json
// holds: run.json is written first, and when it cannot be (a full disk) the
// run is failed, with the reason in its error and its run.finished, and
// run.json is tried once more. A stageErr that is a *Pruned (what Train
// returns when early stopping cancelled its context) records the run as
// pruned at that step. It returns stageErr, else the error of writing the
// record.
func (r *Run) Finish(stageErr error) error {
	r.gpus.stop(r.Record)
	run := r.Record
	status, code, stageErr := endOf(r.ctx, stageErr)
	var pruned *Pruned
	if errors.As(stageErr, &pruned) {
		step := pruned.Step
		run.PrunedStep = &step
	}
	if stageErr != nil {
		run.Error = stageErr.Error()
	}
	for _, s := range run.Stages {
		if s.LogIncomplete != "" {
			w := fmt.Sprintf("stage %s: its log %s was %s", s.Name, s.Log, s.LogIncomplete)
			run.Warnings = append(run.Warnings, w)
			r.Warn(w)
		}
	}
	now := time.Now().UTC()
	run.Finish(status, code, now)
	err := r.p.records.WriteRecord(run)
	if err != nil {
		err = fmt.Errorf("run %s failed: its record could not be saved: %w", run.ID, err)
		if status != record.StatusInterrupted {
			status, code = record.StatusFailed, max(code, 1)
		}
		run.Error = strings.TrimPrefix(run.Error+"; "+err.Error(), "; ")
		run.Finish(status, code, now)
		r.p.records.WriteRecord(run) // a little space may have come free
	}
	ev := record.Event{Type: record.EventRunFinished, Time: now, Run: run.ID, Status: status, ExitCode: &code,
		Duration: run.DurationSec, Metrics: run.Metrics, Verdict: run.Verdict, PrunedStep: run.PrunedStep, Error: eventError(run.Error)}
	if aerr := r.p.records.Append(ev); err == nil {
		err = aerr
	}
	if stageErr != nil {
		return stageErr
	}
	return err
}

// firstErr is the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// endOf is the status and exit code of a run that ended with stageErr in
// ctx, and the error to record for it (a preemption says so).
func endOf(ctx context.Context, stageErr error) (record.Status, int, error) {
	var se *StageError
	var pruned *Pruned
	switch {
	case stageErr == nil:
		return record.StatusFinished, 0, nil
	case errors.As(stageErr, &pruned):
		return record.StatusPruned, proc.ExitInterrupted, stageErr
	case preempted(ctx) != nil:
		return record.StatusPreempted, proc.ExitInterrupted, fmt.Errorf("%w: %w", preempted(ctx), stageErr)
	case errors.As(stageErr, &se) && se.ExitCode == proc.ExitInterrupted, isInterrupted(stageErr):
		return record.StatusInterrupted, proc.ExitInterrupted, stageErr
	case errors.As(stageErr, &se):
		return record.StatusFailed, max(se.ExitCode, 1), stageErr
	}
	return record.StatusFailed, 1, stageErr
}

// maxEventError bounds the error a ledger line carries; run.json has it
// whole.
const maxEventError = 2 << 10

func eventError(s string) string {
	if len(s) <= maxEventError {
		return s
	}
	return strings.ToValidUTF8(s[:maxEventError], "") + "…"
}

func isInterrupted(err error) bool {
	var ie *proc.InterruptedError
	return errors.As(err, &ie)
}
