package mlflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
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

// Result is what an export did.
type Result struct {
	Server                      string
	Created, Updated, Unchanged int // runs, sweeps' parent runs among them
	Sweeps                      int // sweeps' parent runs looked at
	Running                     int // runs left for later: still running
	Deleted                     int // runs left alone: deleted in MLflow
	Failed                      int // runs whose export failed (see the error)
	Requests                    int64
	Uploaded                    int64 // artifact bytes sent
	Warnings                    []string
}

// String is the one-line summary of the export.
func (r *Result) String() string {
	parts := []string{fmt.Sprintf("%d created", r.Created), fmt.Sprintf("%d updated", r.Updated), fmt.Sprintf("%d up to date", r.Unchanged)}
	if r.Running > 0 {
		parts = append(parts, fmt.Sprintf("%d still running (exported once they end)", r.Running))
	}
	if r.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted in MLflow (left alone; restore them there to export again)", r.Deleted))
	}
	if r.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", r.Failed))
	}
	s := fmt.Sprintf("mlflow %s: %s", r.Server, strings.Join(parts, ", "))
	if r.Sweeps > 0 {
		s += fmt.Sprintf(" (%d sweep parent run(s) among them)", r.Sweeps)
	}
	s += fmt.Sprintf("; %d request(s)", r.Requests)
	if r.Uploaded > 0 {
		s += ", " + size(r.Uploaded) + " of artifacts"
	}
	return s
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

// expState is an MLflow experiment and the magelab runs it holds.
type expState struct {
	ID   string
	Runs map[string]*run // by magelab.run_id
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
	if err != nil {
		return err
	}
	return x.syncParents(ctx, exps, sweeps, runIDs)
}

// plan reads the selected runs from the ledger and builds their targets,
// and the sweeps they belong to.
func (x *exporter) plan() ([]target, []sweepInfo, error) {
	sums, err := x.selected()
	if err != nil {
		return nil, nil, err
	}
	repros, err := x.reproductions(sums)
	if err != nil {
		return nil, nil, err
	}
	sweeps, err := x.sweeps(sums)
	if err != nil {
		return nil, nil, err
	}
	keys := map[string][]string{}
	for _, s := range sweeps {
		keys[s.ID] = s.keys()
	}
	var out []target
	for _, s := range sums {
		if s.Status == record.StatusRunning {
			x.res.Running++
			continue
		}
		r, raw, warning, err := query.Record(x.l, s)
		if err != nil {
			return nil, nil, err
		}
		if warning != "" {
			x.warn(warning)
		}
		t := planRun(runInput{Run: r, Raw: raw, Dir: x.l.RunDir(r.ID), Verdict: repros[r.ID], Sweep: keys[r.SweepID],
			Level: x.level, MaxBytes: x.o.MaxBytes, Prefix: x.o.Prefix})
		x.warn(t.Warnings...)
		out = append(out, t)
	}
	return out, sweeps, nil
}

// selected are the summaries of the runs to export, oldest first.
func (x *exporter) selected() ([]record.Summary, error) {
	var sums []record.Summary
	var warnings []string
	var err error
	if len(x.o.RunIDs) > 0 {
		sums, warnings, err = query.Find(x.l, x.o.RunIDs...)
	} else {
		sums, warnings, err = query.List(x.l, query.Query{Experiment: x.o.Experiment, SweepID: x.o.SweepID, Where: x.o.Where})
		slices.Reverse(sums)
	}
	x.warn(warnings...)
	return sums, err
}

// reproductions maps each run to its newest reproduction with a verdict,
// among the experiment's runs (the selected ones when they are all).
func (x *exporter) reproductions(selected []record.Summary) (map[string]*reproduction, error) {
	all := selected
	if len(x.o.RunIDs) > 0 || len(x.o.Where) > 0 || x.o.SweepID != "" {
		var err error
		if all, _, err = query.List(x.l, query.Query{Experiment: x.o.Experiment}); err != nil {
			return nil, err
		}
		slices.Reverse(all)
	}
	out := map[string]*reproduction{}
	for _, s := range slices.Backward(all) { // newest first
		if s.Reproduces != "" && s.Verdict != "" && out[s.Reproduces] == nil {
			out[s.Reproduces] = &reproduction{RunID: s.ID, Verdict: s.Verdict}
		}
	}
	return out, nil
}

// sweeps are the sweeps of the selected runs (and -sweep's), with their
// events and every trial the ledger has.
func (x *exporter) sweeps(sums []record.Summary) ([]sweepInfo, error) {
	ids := map[string]bool{}
	if x.o.SweepID != "" {
		ids[x.o.SweepID] = true
	}
	for _, s := range sums {
		if s.SweepID != "" {
			ids[s.SweepID] = true
		}
	}
	var out []sweepInfo
	for id := range ids {
		events, err := query.SweepEvents(x.l, id)
		if err != nil {
			return nil, err
		}
		trials, _, err := query.List(x.l, query.Query{SweepID: id})
		if err != nil {
			return nil, err
		}
		if len(events) == 0 && len(trials) == 0 {
			continue
		}
		out = append(out, sweepInfo{ID: id, Events: events, Trials: trials})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// sweepExperiment is the MLflow experiment of a sweep's parent run.
func (x *exporter) sweepExperiment(s sweepInfo) string {
	if st := s.started(); st != nil && st.Experiment != "" {
		return x.o.Prefix + st.Experiment
	}
	if len(s.Trials) > 0 {
		return x.o.Prefix + s.Trials[0].Experiment
	}
	return ""
}

// experiments finds or creates the MLflow experiment of every target and
// reads which magelab runs each holds.
func (x *exporter) experiments(ctx context.Context, runs []target, sweeps []sweepInfo) (map[string]*expState, error) {
	names := map[string]bool{}
	for _, t := range runs {
		names[t.Experiment] = true
	}
	for _, s := range sweeps {
		if n := x.sweepExperiment(s); n != "" {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := map[string]*expState{}
	for _, name := range sorted {
		e, err := x.experiment(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = e
	}
	return out, nil
}

// experiment finds or creates the experiment called name and lists the
// runs magelab exported into it.
func (x *exporter) experiment(ctx context.Context, name string) (*expState, error) {
	if name == "" || len(name) > 500 {
		return nil, fmt.Errorf("MLflow experiment name %q: want 1 to 500 characters (check -prefix)", name)
	}
	e, err := x.c.experimentByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		id, cerr := x.c.createExperiment(ctx, name)
		var ae *APIError
		if errors.As(cerr, &ae) && ae.Code == "RESOURCE_ALREADY_EXISTS" { // created meanwhile, or by a retry
			cerr = nil
		}
		if cerr != nil {
			return nil, cerr
		}
		if e, err = x.c.experimentByName(ctx, name); err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("MLflow experiment %q: created as %s but not found by name", name, id)
		}
		x.say("created MLflow experiment %q (id %s)", name, e.ID)
	}
	if e.LifecycleStage == "deleted" {
		return nil, fmt.Errorf("MLflow experiment %q (id %s) is deleted: restore it in MLflow (mlflow experiments restore --experiment-id %s), or export under another name with -prefix", name, e.ID, e.ID)
	}
	if x.level != ArtifactsNone {
		if why := proxiedArtifacts(e); why != "" {
			return nil, errors.New(why)
		}
	}
	found, err := x.c.searchRuns(ctx, e.ID, magelabFilter)
	if err != nil {
		return nil, err
	}
	st := &expState{ID: e.ID, Runs: map[string]*run{}}
	dups := map[string]int{}
	for i := range found {
		r := &found[i]
		id := tagValue(r.Data.Tags, TagRunID)
		if prev, ok := st.Runs[id]; ok {
			dups[id]++
			if prev.Info.LifecycleStage != "deleted" && (r.Info.LifecycleStage == "deleted" || prev.Info.StartTime <= r.Info.StartTime) {
				continue
			}
		}
		st.Runs[id] = r
	}
	for id, n := range dups {
		x.warn(fmt.Sprintf("MLflow experiment %q holds %d runs tagged %s=%s: exporting to %s; delete the others", name, n+1, TagRunID, id, st.Runs[id].Info.RunID))
	}
	return st, nil
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

func (e *expState) runOf(id string) *run { return e.Runs[id] }

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

// count adds a run's outcome to the result and says what happened to it.
func (x *exporter) count(t target, res synced, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.res.Uploaded += res.Uploaded
	x.res.Warnings = append(x.res.Warnings, res.Warnings...)
	for _, w := range res.Warnings {
		x.sayLocked("warning: %s", w)
	}
	if !ok {
		x.res.Failed++
		return
	}
	what := ""
	switch res.Outcome {
	case created:
		x.res.Created++
		what = "created"
	case updated:
		x.res.Updated++
		what = "updated"
	case unchanged:
		x.res.Unchanged++
	case deleted:
		x.res.Deleted++
	}
	if what != "" {
		x.sayLocked("%s %s (%s, %s): %s/#/experiments/%s/runs/%s", what, t.Name, t.Experiment, strings.ToLower(t.Status), x.c.server(), res.ExperimentID, res.RunID)
	}
}

// warn records warnings and prints them.
func (x *exporter) warn(ws ...string) {
	if len(ws) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, w := range ws {
		x.res.Warnings = append(x.res.Warnings, w)
		x.sayLocked("warning: %s", w)
	}
}

func (x *exporter) say(format string, args ...any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sayLocked(format, args...)
}

func (x *exporter) sayLocked(format string, args ...any) {
	if x.o.Out != nil {
		fmt.Fprintf(x.o.Out, "mlflow: "+format+"\n", args...)
	}
}
