package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
)

// Options say what to export and where.
type Options struct {
	Settings Settings
	// Transport, when not nil, carries the HTTP requests (tests count
	// and cut them with it).
	Transport http.RoundTripper
	// Experiment, SweepID and Where select the runs, as for `runs`;
	// RunIDs (full ids), when set, selects exactly those runs instead.
	Experiment string
	SweepID    string
	Where      []query.Cond
	RunIDs     []string
	Artifacts  Level // "" is ArtifactsMeta
	MaxBytes   int64 // the largest artifact sent; 0 is DefaultMaxBytes
	// Prefix is put before each experiment's name in MLflow ("team/",
	// or a Databricks workspace path such as /Users/me@example.com/).
	Prefix string
	// Parallel is how many runs are sent at once; 0 is 4.
	Parallel int
	// Out, when not nil, gets a line for each run created or updated.
	Out io.Writer
}

// exporter is one export in progress.
type exporter struct {
	c     *client
	l     *ledger.Ledger
	o     Options
	level Level

	mu  sync.Mutex
	res *Result
}

// Export sends the runs o selects (and the parent runs of their sweeps)
// to the tracking server, creating what is missing and sending only what
// changed. It stops at the first error no other run can get past (the
// server unreachable, credentials refused, the context cancelled); a run
// MLflow refuses is counted and the others go on. What was sent stays
// sent: running it again completes it.
func Export(ctx context.Context, l *ledger.Ledger, o Options) (*Result, error) {
	c, err := newClient(o.Settings, o.Transport)
	if err != nil {
		return nil, err
	}
	level := o.Artifacts
	if level == "" {
		level = ArtifactsMeta
	}
	x := &exporter{c: c, l: l, o: o, level: level, res: &Result{Server: c.server()}}
	if x.o.Parallel <= 0 {
		x.o.Parallel = 4
	}
	err = x.run(ctx)
	x.res.Requests = c.calls.Load()
	return x.res, err
}

func (x *exporter) run(ctx context.Context) error {
	runs, sweeps, err := x.plan()
	if err != nil {
		return err
	}
	exps, err := x.experiments(ctx, runs, sweeps)
	if err != nil {
		return err
	}
	parents, err := x.ensureParents(ctx, exps, sweeps)
	if err != nil {
		return err
	}
	runIDs, err := x.syncAll(ctx, exps, runs, parents)
	if err != nil && stopsAll(err) {
		return err
	}
	// Runs MLflow refused do not keep their sweeps' parents from being filled in.
	return errors.Join(err, x.syncParents(ctx, exps, sweeps, runIDs))
}

// ensureParents makes sure each sweep has its parent run, so that its
// trials can name it; they are filled in by syncParents, once the trials'
// runs exist. It returns the MLflow id of each sweep's parent.
func (x *exporter) ensureParents(ctx context.Context, exps map[string]*expState, sweeps []sweepInfo) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range sweeps {
		name := x.sweepExperiment(s)
		e := exps[name]
		if e == nil {
			continue
		}
		id := sweepRunID(s.ID)
		if r := e.Runs[id]; r != nil {
			if r.Info.LifecycleStage != "deleted" {
				out[s.ID] = r.Info.RunID
			}
			continue
		}
		t := planSweep(s, name, x.level, "")
		r, err := x.create(ctx, e.ID, t)
		if err != nil {
			return nil, err
		}
		e.Runs[id] = r
		out[s.ID] = r.Info.RunID
	}
	return out, nil
}

// syncAll syncs the runs, o.Parallel at a time, and returns the MLflow id
// of each magelab run exported (or found).
func (x *exporter) syncAll(ctx context.Context, exps map[string]*expState, runs []target, parents map[string]string) (map[string]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ids := map[string]string{}
	for _, e := range exps {
		for id, r := range e.Runs {
			ids[id] = r.Info.RunID
		}
	}
	var mu sync.Mutex
	var failures []error
	jobs := make(chan target)
	var wg sync.WaitGroup
	for range min(x.o.Parallel, max(len(runs), 1)) {
		wg.Go(func() {
			for t := range jobs {
				e := exps[t.Experiment]
				parent := ""
				if t.Parent != "" {
					parent = parents[strings.TrimPrefix(t.Parent, "sweep:")]
				}
				res, err := x.syncRun(ctx, e, t, parent, e.runOf(t.ID))
				x.count(t, res, err == nil)
				mu.Lock()
				if res.RunID != "" {
					ids[t.ID] = res.RunID
				}
				if err != nil {
					failures = append(failures, err)
					if stopsAll(err) {
						cancel(err)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range runs {
		if ctx.Err() != nil {
			break
		}
		jobs <- t
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return ids, err
	}
	return ids, joinFailures(failures)
}

// syncParents fills in each sweep's parent run, now that its best trial's
// MLflow run is known.
func (x *exporter) syncParents(ctx context.Context, exps map[string]*expState, sweeps []sweepInfo, ids map[string]string) error {
	var failures []error
	for _, s := range sweeps {
		name := x.sweepExperiment(s)
		e := exps[name]
		if e == nil {
			continue
		}
		best := ""
		if f := s.finished(); f != nil && f.Best != "" {
			best = ids[f.Best]
		}
		t := planSweep(s, name, x.level, best)
		x.warn(t.Warnings...)
		res, err := x.syncRun(ctx, e, t, "", e.runOf(t.ID))
		x.mu.Lock()
		x.res.Sweeps++
		x.mu.Unlock()
		x.count(t, res, err == nil)
		if err != nil {
			if stopsAll(err) {
				return err
			}
			failures = append(failures, err)
		}
	}
	return joinFailures(failures)
}

// stopsAll reports whether err ends the whole export: no other run can
// get past it.
func stopsAll(err error) bool {
	var ue *UnreachableError
	var ae *APIError
	return errors.As(err, &ue) || (errors.As(err, &ae) && (ae.Fatal() || ae.Status >= 500)) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// joinFailures is one error for the runs that failed.
func joinFailures(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%d runs failed to export:\n  %w", len(errs), errors.Join(errs...))
}
