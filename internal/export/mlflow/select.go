package mlflow

import (
	"slices"
	"sort"

	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

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
