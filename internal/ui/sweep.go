package ui

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/report"
)

// sweepItem is a sweep in GET /api/sweeps.
type sweepItem struct {
	ID         string    `json:"id"`
	Experiment string    `json:"experiment"`
	Method     string    `json:"method,omitempty"`
	Metric     string    `json:"metric,omitempty"`
	Goal       string    `json:"goal,omitempty"` // "min" or "max"
	Planned    int       `json:"planned,omitempty"`
	Started    time.Time `json:"started"`
	Finished   bool      `json:"finished"`
	Best       string    `json:"best,omitempty"`
}

// sweepDetail is GET /api/sweeps/{id}: the trials ranked by the sweep's
// metric, the swept params (the parallel coordinates' axes), and the best
// value so far in the order the trials started.
type sweepDetail struct {
	sweepItem
	Params    []string       `json:"params"`
	Trials    []trialJSON    `json:"trials"`
	BestSoFar []bestPoint    `json:"best_so_far"`
	Metrics   []string       `json:"metrics"`
	Spec      map[string]any `json:"spec"`
}

type trialJSON struct {
	ID      string             `json:"id"`
	Short   string             `json:"short"`
	Status  record.Status      `json:"status"`
	Started time.Time          `json:"started"`
	Rank    int                `json:"rank,omitempty"` // 1 is the best; 0: no value of the metric
	Value   *float64           `json:"value"`          // the sweep's metric
	Params  map[string]any     `json:"params"`         // the swept ones
	Metrics map[string]float64 `json:"metrics"`
}

type bestPoint struct {
	Trial int     `json:"trial"` // 1-based, in the order the trials started
	Value float64 `json:"value"`
	ID    string  `json:"id"`
}

func (s *Server) handleSweeps(w http.ResponseWriter, r *http.Request) {
	sweeps, err := query.Sweeps(s.Ledger)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]sweepItem, 0, len(sweeps))
	for _, sw := range sweeps {
		out = append(out, itemOf(sw.Started, sw.Finished))
	}
	writeJSON(w, out)
}

func itemOf(ev record.Event, fin *record.Event) sweepItem {
	it := sweepItem{ID: ev.SweepID, Experiment: ev.Experiment, Metric: ev.SweepMetric(), Goal: goalOf(ev), Started: ev.Time}
	it.Method, _ = ev.Spec["method"].(string)
	if n, ok := ev.Spec["trials"].(float64); ok {
		it.Planned = int(n)
	}
	if fin != nil {
		it.Finished, it.Best = true, fin.Best
	}
	return it
}

func (s *Server) handleSweep(w http.ResponseWriter, r *http.Request) {
	d, err := s.sweepDetail(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, d)
}

func (s *Server) sweepDetail(id string) (*sweepDetail, error) {
	ev, ok, err := query.SweepStarted(s.Ledger, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(http.StatusNotFound, ECodeNotFound, "no sweep "+id+" in the ledger (GET /api/sweeps lists them)")
	}
	runs, _, err := query.List(s.Ledger, query.Query{SweepID: id})
	if err != nil {
		return nil, err
	}
	d := &sweepDetail{sweepItem: itemOf(ev, nil), Spec: ev.Spec, Params: sweptParams(ev), Metrics: report.MetricNames(runs)}
	d.Trials, d.BestSoFar = trials(runs, d.Params, d.Metric, d.Goal)
	return d, nil
}

// sweptParams are the keys of the recorded spec's parameters, sorted.
func sweptParams(ev record.Event) []string {
	ps, _ := ev.Spec["parameters"].(map[string]any)
	out := make([]string, 0, len(ps))
	for k := range ps {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// trials ranks runs by metric (goal "min" or "max"; runs without it last,
// newest first) and traces the best value in the order they started.
func trials(runs []record.Summary, params []string, metric, goal string) ([]trialJSON, []bestPoint) {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	short := report.ShortIDs(ids)
	out := make([]trialJSON, len(runs))
	for i, r := range runs {
		t := trialJSON{ID: r.ID, Short: short[i], Status: r.Status, Started: r.Started, Params: map[string]any{}, Metrics: r.Metrics}
		if t.Metrics == nil {
			t.Metrics = map[string]float64{}
		}
		for _, p := range params {
			if v, ok := r.Params[p]; ok {
				t.Params[p] = v
			}
		}
		if v, ok := r.Metrics[metric]; ok && !math.IsNaN(v) {
			t.Value = ptr(v)
		}
		out[i] = t
	}
	byTime := slices.Clone(out)
	slices.SortStableFunc(byTime, func(a, b trialJSON) int { return a.Started.Compare(b.Started) })
	best := []bestPoint{}
	for i, t := range byTime {
		if t.Value == nil {
			continue
		}
		if n := len(best); n == 0 || better(*t.Value, best[n-1].Value, goal) {
			best = append(best, bestPoint{Trial: i + 1, Value: *t.Value, ID: t.ID})
		} else {
			best = append(best, bestPoint{Trial: i + 1, Value: best[n-1].Value, ID: best[n-1].ID})
		}
	}
	slices.SortStableFunc(out, func(a, b trialJSON) int {
		switch {
		case a.Value == nil && b.Value == nil:
			return 0
		case a.Value == nil:
			return 1
		case b.Value == nil:
			return -1
		case goal == "min":
			return cmp.Compare(*a.Value, *b.Value)
		}
		return cmp.Compare(*b.Value, *a.Value)
	})
	for i := range out {
		if out[i].Value != nil {
			out[i].Rank = i + 1
		}
	}
	return out, best
}

func better(v, than float64, goal string) bool {
	if goal == "min" {
		return v < than
	}
	return v > than
}
