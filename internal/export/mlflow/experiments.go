package mlflow

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// expState is an MLflow experiment and the magelab runs it holds.
type expState struct {
	ID   string
	Runs map[string]*run // by magelab.run_id
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

func (e *expState) runOf(id string) *run { return e.Runs[id] }
