package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/search"
)

// JournalName is the file of a sweep's Optuna study in its directory
// (runs/sweeps/<id>/), which optuna-dashboard opens.
const JournalName = "optuna.journal"

// The user attributes a sweep stores with each Optuna trial.
const (
	attrRun    = "magelab_run"    // the run's id
	attrStatus = "magelab_status" // how the run ended: finished, failed, interrupted, crashed (set by Abandon)
)

// usesStudy reports whether the sweep needs an Optuna study: to propose
// its points, or to stop its bad trials.
func usesStudy(s *Spec) bool { return s.Adaptive() || s.EarlyStop != nil }

// openStudy builds the helper's venv, when its requirements changed, and
// opens the sweep's study in runs/sweeps/<id>/optuna.journal; journal
// makes it open another file (a dry run's copy). The helper's warnings go
// to helper.log beside the journal.
func openStudy(ctx context.Context, p *runner.Project, exp *config.Experiment, id, journal string) (*search.Study, []search.Trial, func(), error) {
	v := search.Venv(p.Settings.OptunaVenvDir(p.Root), p.Settings.Python, p.Settings.Installer)
	python, script, err := search.EnsureVenv(ctx, v, p.Out)
	if err != nil {
		return nil, nil, nil, err
	}
	if journal == "" {
		journal = filepath.Join(p.Ledger.SweepDir(id), JournalName)
	}
	if err := os.MkdirAll(filepath.Dir(journal), 0o755); err != nil {
		return nil, nil, nil, fmt.Errorf("sweep %s: %w", id, err)
	}
	log, err := os.OpenFile(filepath.Join(filepath.Dir(journal), "helper.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sweep %s: %w", id, err)
	}
	study, trials, err := search.Open(ctx, search.Options{Python: python, Script: script, Journal: journal, Name: id,
		Spec: exp.Sweep, Log: log, Attrs: map[string]any{"magelab_experiment": exp.Name, "magelab_metric": exp.Sweep.Metric}})
	if err != nil {
		log.Close()
		return nil, nil, nil, err
	}
	closeAll := func() {
		study.Close()
		log.Close()
	}
	return study, trials, closeAll, nil
}

// studyTrial runs trials of a sweep that has a study: each trial is an
// Optuna trial (asked beforehand), its run's metrics.jsonl is followed for
// the pruner, and its end is told.
type studyTrial struct {
	study *search.Study
	spec  *Spec
	// cancel stops the sweep when the helper is gone: every running trial
	// is interrupted and the sweep returns the helper's error.
	cancel context.CancelCauseFunc
	warn   func(string)
	noStep sync.Once // the warning that a trial logged no step of the metric
	runDir func(string) string
}

// startStudy opens the sweep's study for its trials, fails the trials a
// killed magelab left running in it, and watches the helper: the context
// it returns is cancelled when the helper dies. cleanup closes it all.
func startStudy(ctx context.Context, p *runner.Project, exp *config.Experiment, res *Result) (context.Context, *studyTrial, []search.Trial, func(), error) {
	study, _, closeStudy, err := openStudy(ctx, p, exp, res.ID, "")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	trials, err := abandon(ctx, study)
	if err != nil {
		closeStudy()
		return nil, nil, nil, nil, err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	stopWatch := watchHelper(study, cancel)
	st := &studyTrial{study: study, spec: res.Spec, cancel: cancel, runDir: p.Ledger.RunDir, warn: func(m string) { p.Warn(m) }}
	return sctx, st, trials, func() { stopWatch(); cancel(nil); closeStudy() }, nil
}

// abandon fails the trials a killed magelab left running and returns the
// study's trials.
func abandon(ctx context.Context, study *search.Study) ([]search.Trial, error) {
	if _, err := study.Abandon(ctx); err != nil {
		return nil, err
	}
	return study.Trials(ctx)
}

// failed handles an error of the helper: a helper gone stops the sweep;
// a request it refused is a warning (the trial goes on, unjudged).
func (st *studyTrial) failed(err error) {
	var he *search.HelperError
	if errors.As(err, &he) {
		st.cancel(&helperFailure{err})
		return
	}
	st.warn("early_stop: " + err.Error())
}

// trial runs t as an Optuna trial: for tpe and cmaes t.Index is the
// trial's number already; a grid's or random sweep's trial is asked for
// here, with no values (magelab chose them).
func (st *studyTrial) trial(ctx context.Context, t Trial, started func(string), train func(context.Context, func(string)) Outcome) Outcome {
	number := t.Index
	if !st.spec.Adaptive() {
		n, _, err := st.study.Ask(ctx, map[string]any{"magelab_trial": t.Index + 1, "magelab_params": t.Label()})
		if err != nil {
			st.failed(err)
			return Outcome{}
		}
		number = n
	}
	return st.run(ctx, t, number, started, train)
}

// run runs trial t in slot s as Optuna trial number: train does the work,
// started is told the run's id. It stops the run (SIGINT to its process
// group, SIGKILL after the grace period) when the pruner says so.
func (st *studyTrial) run(ctx context.Context, t Trial, number int, started func(string), train func(context.Context, func(string)) Outcome) Outcome {
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var f *search.Follower
	var last *float64 // the last value reported, for a grid's study
	start := func(id string) {
		started(id)
		if err := st.study.SetAttr(ctx, number, attrRun, id); err != nil {
			st.failed(err)
			return
		}
		if es := st.spec.EarlyStop; es != nil {
			f = search.Follow(filepath.Join(st.runDir(id), "out", "metrics.jsonl"), es.Metric, func(step int, v float64) bool {
				last = &v
				if ctx.Err() != nil { // the sweep is stopping: nothing to judge
					return true
				}
				prune, err := st.study.Report(ctx, number, step, v)
				if err != nil {
					st.failed(err)
					return true
				}
				if prune {
					cancel(&runner.Pruned{Step: step, Metric: es.Metric, Value: v})
				}
				return prune
			})
		}
	}
	o := train(tctx, start)
	steps := -1
	if f != nil {
		steps = f.Stop()
	}
	if steps == 0 && o.OK() && !o.Reused {
		st.noStep.Do(func() {
			st.warn(fmt.Sprintf("early_stop: trial %d (run %s) wrote no step of %s to its out/metrics.jsonl, so no trial of this sweep can be pruned on it: "+
				"log {\"step\": N, %q: value} at increasing integer steps (python/lab.py's lab.log does), or name another metric in early_stop.metric",
				t.Index+1, o.RunID, st.spec.EarlyStop.Metric, st.spec.EarlyStop.Metric))
		})
	}
	state, value, attrs := st.verdict(o, last)
	// The tell goes out even when the sweep is being interrupted, so that
	// the journal knows how the trial ended.
	if err := st.study.Tell(context.WithoutCancel(ctx), number, state, value, attrs); err != nil {
		st.failed(err)
	}
	return o
}

// verdict is how Optuna records an outcome: complete with the study's
// metric (the sweep's for tpe and cmaes, the pruner's for a grid or
// random sweep, else its last reported value), pruned, or fail.
func (st *studyTrial) verdict(o Outcome, last *float64) (search.State, *float64, map[string]any) {
	attrs := map[string]any{attrStatus: string(o.Status)}
	if o.RunID != "" { // a reused run never started, so the trial learns its id here
		attrs[attrRun] = o.RunID
	}
	switch o.Status {
	case record.StatusPruned:
		return search.Pruned, nil, attrs
	case record.StatusFinished:
		metric := st.spec.Metric
		if !st.spec.Adaptive() {
			metric = st.spec.EarlyStop.Metric
		}
		if v, ok := o.Metrics[metric]; ok {
			return search.Complete, &v, attrs
		}
		if !st.spec.Adaptive() && last != nil {
			return search.Complete, last, attrs
		}
		attrs[attrStatus] = "finished without " + metric
	}
	return search.Fail, nil, attrs
}

// helperFailure is the cause a sweep is cancelled with when its helper is
// gone.
type helperFailure struct{ err error }

func (h *helperFailure) Error() string { return h.err.Error() }
func (h *helperFailure) Unwrap() error { return h.err }

// helperErr is the helper's error when it stopped the sweep (ctx's cause).
func helperErr(ctx context.Context) error {
	var hf *helperFailure
	if errors.As(context.Cause(ctx), &hf) {
		return hf.err
	}
	return nil
}

// watchHelper cancels the sweep when the helper dies on its own, until
// stop is called.
func watchHelper(study *search.Study, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-study.Done():
			cancel(&helperFailure{study.Died()})
		case <-done:
		}
	}()
	return func() { close(done) }
}
