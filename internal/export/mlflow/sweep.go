package mlflow

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// sweepInfo is what the ledger knows of one sweep: its events, oldest
// first, and its trials' summaries.
type sweepInfo struct {
	ID     string
	Events []record.Event
	Trials []record.Summary
}

// started and finished are the sweep's newest sweep.started and the
// sweep.finished that ended it (nil while it runs, or if it crashed).
func (s sweepInfo) started() *record.Event {
	for i := len(s.Events) - 1; i >= 0; i-- {
		if s.Events[i].Type == record.EventSweepStarted {
			return &s.Events[i]
		}
	}
	return nil
}

func (s sweepInfo) finished() *record.Event {
	st := s.started()
	for i := len(s.Events) - 1; i >= 0; i-- {
		ev := &s.Events[i]
		if ev.Type == record.EventSweepFinished && (st == nil || !ev.Time.Before(st.Time)) {
			return ev
		}
	}
	return nil
}

// keys are the swept params, sorted: what a trial's name shows.
func (s sweepInfo) keys() []string {
	st := s.started()
	if st == nil {
		return nil
	}
	p, _ := st.Spec["parameters"].(map[string]any)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// status is the sweep's status: the finished event's; running while its
// process lives; crashed when it is gone without one.
func (s sweepInfo) status() record.Status {
	if f := s.finished(); f != nil {
		if f.Status == "" {
			return record.StatusFinished
		}
		return f.Status
	}
	st := s.started()
	if st == nil {
		return record.StatusCrashed
	}
	alive := record.Summary{Status: record.StatusRunning, Host: st.Host, PID: st.PID, PIDStart: st.PIDStart}
	if ledger.Crashed(alive) {
		return record.StatusCrashed
	}
	return record.StatusRunning
}

// planSweep is the target of a sweep's parent run: the sweep's spec as
// params (sweep.method, sweep.parameters.train.lr, ...), its best trial as
// tags and its metric, and sweep.json (spec, trials, best) as an artifact.
// best is the MLflow id of the best trial's run, when it has one.
func planSweep(s sweepInfo, experiment string, level Level, best string) target {
	t := target{ID: sweepRunID(s.ID), Experiment: experiment, Name: "sweep " + s.ID}
	st, fin, status := s.started(), s.finished(), s.status()
	t.Status = mlflowStatus(status)
	var start, end time.Time
	for _, ev := range s.Events {
		if ev.Type == record.EventSweepStarted && (start.IsZero() || ev.Time.Before(start)) {
			start = ev.Time
		}
	}
	for _, tr := range s.Trials {
		if start.IsZero() || tr.Started.Before(start) {
			start = tr.Started
		}
		if e := tr.Started.Add(time.Duration(tr.Duration * float64(time.Second))); e.After(end) {
			end = e
		}
	}
	t.Start = start.UnixMilli()
	switch {
	case fin != nil:
		t.End = fin.Time.UnixMilli()
	case status != record.StatusRunning:
		t.End = max(end.UnixMilli(), t.Start)
	}
	var w []string
	if st != nil {
		t.Params, w = paramList(record.FlattenParams(st.Spec), "sweep.")
		t.Warnings = append(t.Warnings, w...)
	}
	tags := map[string]string{TagRunID: t.ID, TagSweep: s.ID, TagStatus: string(status), "magelab.kind": "sweep"}
	if fin != nil && fin.Best != "" {
		tags[TagBest] = fin.Best
		setNonEmpty(tags, TagBestMLflow, best)
		metricName := ""
		if st != nil {
			metricName = st.SweepMetric()
		}
		if v, ok := fin.Metrics[metricName]; ok && badKey(metricName) == "" {
			t.Metrics = []metric{{Key: metricName, Value: flexFloat(v), Timestamp: flexInt(fin.Time.UnixMilli())}}
		}
	}
	t.Tags, w = tagList(tags)
	t.Warnings = append(t.Warnings, w...)
	if level != ArtifactsNone {
		doc := map[string]any{"id": s.ID, "status": status}
		if st != nil {
			doc["spec"], doc["experiment"] = st.Spec, st.Experiment
		}
		if fin != nil {
			doc["trials"], doc["best"] = fin.Trials, fin.Best
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		t.Files = []file{dataFile("sweep.json", append(b, '\n'))}
	}
	return t
}
