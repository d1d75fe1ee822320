package sweep

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
)

// Error is a sweep that did not finish every trial.
type Error struct {
	ID          string
	Failed      int // trials failed, in this attempt
	Total       int
	Stopped     string // why it stopped early, if it did
	Interrupted bool
}

func (e *Error) Error() string {
	if e.Interrupted {
		return fmt.Sprintf("sweep %s interrupted: run the same command again to resume it (finished trials are reused, the others run)", e.ID)
	}
	msg := fmt.Sprintf("sweep %s: %d of %d trials failed", e.ID, e.Failed, e.Total)
	if e.Stopped != "" {
		msg += "; stopped early: " + e.Stopped
	}
	return msg + "; fix the cause and run the same command again (finished trials are reused), or add -retryFailed to rerun only the failed ones"
}

// ExitStatus is 130 for an interrupted sweep (as for an interrupted run), else 1.
func (e *Error) ExitStatus() int {
	if e.Interrupted {
		return proc.ExitInterrupted
	}
	return 1
}

// finish fills in the trials this attempt did not run from the sweep's
// earlier runs, records sweep.finished, prints the table and appends it to
// the job summary. The error says whether any trial failed.
func finish(p *runner.Project, res *Result, trials []Trial, interrupted bool) error {
	failed := 0
	for _, o := range res.Outcomes {
		if o.Failed() {
			failed++
		}
	}
	fillIn(p.Ledger, res, trials)
	status := record.StatusFinished
	switch {
	case interrupted:
		status = record.StatusInterrupted
	case failed > 0 || res.Stopped != "":
		status = record.StatusFailed
	}
	err := recordFinish(p, res, status)
	if interrupted || failed > 0 {
		return &Error{ID: res.ID, Failed: failed, Total: len(trials), Stopped: res.Stopped, Interrupted: interrupted}
	}
	return err
}

// Summarize reports a sweep from the ledger alone: the latest attempt at
// each trial, wherever it ran (after `runs:import` of fanned-out chunks).
// It records sweep.finished, prints the table and appends it to the job
// summary; the error names the trials that did not finish.
func Summarize(p *runner.Project, exp *config.Experiment) (*Result, error) {
	spec, trials, err := Plan(exp, true)
	if err != nil {
		return nil, err
	}
	if spec.Adaptive() {
		return nil, fmt.Errorf("%s: sweep:summary reports a planned sweep, and method %s is never planned: `sweep` prints its table at the end, and `runs -sweep=%s` lists its runs", fileOf(exp), spec.Method, ID(exp))
	}
	res := &Result{ID: ID(exp), Spec: spec}
	fillIn(p.Ledger, res, trials)
	var missing, failed []string
	for _, o := range res.Outcomes {
		switch {
		case !o.Ran():
			missing = append(missing, itoa(o.Trial.Index+1))
		case !o.OK() && o.Status != record.StatusPruned:
			failed = append(failed, itoa(o.Trial.Index+1))
		}
	}
	status := record.StatusFinished
	if len(missing)+len(failed) > 0 {
		status = record.StatusFailed
	}
	if err := recordFinish(p, res, status); err != nil {
		return res, err
	}
	switch {
	case len(missing) > 0:
		return res, fmt.Errorf("sweep %s: no run of trial(s) %s in this ledger (import every chunk's runs/ with runs:import)", res.ID, strings.Join(missing, ", "))
	case len(failed) > 0:
		return res, &Error{ID: res.ID, Failed: len(failed), Total: len(trials)}
	}
	return res, nil
}

// Report records the end of a sweep whose trials ran elsewhere (a Slurm
// job array), from the outcomes the caller filled in, one per trial in
// trial order: the best trial, sweep.finished, the table and the job
// summary, as a local sweep records its end.
func Report(p *runner.Project, res *Result) error {
	res.Best = best(res.Spec, res.Outcomes)
	status := record.StatusFinished
	for _, o := range res.Outcomes {
		if !o.OK() {
			status = record.StatusFailed
		}
	}
	return recordFinish(p, res, status)
}

// fillIn completes res.Outcomes to one per trial, in trial order: the
// trials this attempt did not run get the latest attempt in the ledger.
func fillIn(l *ledger.Ledger, res *Result, trials []Trial) {
	ran := map[int]Outcome{}
	for _, o := range res.Outcomes {
		if o.Ran() {
			ran[o.Trial.Index] = o
		}
	}
	prev, _ := previous(l, res.ID, res.Spec)
	all := make([]Outcome, len(trials))
	for i, t := range trials {
		o, ok := ran[t.Index]
		if !ok {
			o = Outcome{Trial: t}
			if s, found := prev[trialKey(t.Values)]; found {
				o.RunID, o.Status, o.Metrics, o.Reused, o.PrunedStep = s.ID, s.Status, s.Metrics, true, s.PrunedStep
				o.Duration = time.Duration(s.Duration * float64(time.Second))
			}
		}
		all[i] = o
	}
	res.Outcomes, res.Best = all, best(res.Spec, all)
}

// recordFinish appends sweep.finished, prints the table and appends it to the
// job summary.
func recordFinish(p *runner.Project, res *Result, status record.Status) error {
	ev := record.Event{Type: record.EventSweepFinished, Time: time.Now().UTC(), SweepID: res.ID, Status: status}
	for _, o := range res.Outcomes {
		ev.Trials = append(ev.Trials, o.RunID)
	}
	if res.Best != nil {
		ev.Best, ev.Metrics = res.Best.RunID, map[string]float64{res.Spec.Metric: res.Best.Metrics[res.Spec.Metric]}
	}
	err := p.Ledger.Append(ev)
	WriteTable(p.Out, res)
	if p.Settings.StepSummary != "" {
		if serr := appendSummary(p.Settings.StepSummary, res); serr != nil {
			fmt.Fprintf(p.Out, "warning: job summary: %v\n", serr)
		}
	}
	return err
}

func appendSummary(path string, res *Result) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := WriteMarkdown(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// previous is the latest attempt at each trial among the sweep's runs, by
// trialKey.
func previous(l *ledger.Ledger, id string, s *Spec) (map[string]record.Summary, error) {
	runs, _, err := query.List(l, query.Query{SweepID: id})
	if err != nil {
		return nil, err
	}
	out := map[string]record.Summary{}
	for _, r := range runs { // newest first
		k := summaryKey(r, s)
		if _, seen := out[k]; !seen {
			out[k] = r
		}
	}
	return out, nil
}

// failedTrials are the trials whose latest attempt failed, crashed or was
// interrupted; trials never attempted, and pruned ones (early stopping's
// decision), are left out.
func failedTrials(l *ledger.Ledger, id string, s *Spec, trials []Trial) ([]Trial, error) {
	prev, err := previous(l, id, s)
	if err != nil {
		return nil, err
	}
	var out []Trial
	for _, t := range trials {
		if r, ok := prev[trialKey(t.Values)]; ok && r.Status != record.StatusFinished && r.Status != record.StatusRunning && r.Status != record.StatusPruned {
			out = append(out, t)
		}
	}
	return out, nil
}

// trialKey identifies a trial by its values as JSON, so that 64 and 64.0
// (an int from YAML, a float from the ledger's JSON) agree.
func trialKey(values []config.KV) string {
	var b strings.Builder
	for _, kv := range values {
		v, _ := json.Marshal(kv.Value)
		b.WriteString(kv.Key + "=" + string(v) + "\x00")
	}
	return b.String()
}

// summaryKey is trialKey of the values a run was made with.
func summaryKey(r record.Summary, s *Spec) string {
	values := make([]config.KV, len(s.Parameters))
	for i, p := range s.Parameters {
		values[i] = config.KV{Key: p.Key, Value: r.Params[p.Key]}
	}
	return trialKey(values)
}

// notPruned are the trials whose latest attempt was not pruned: a resumed
// sweep keeps early stopping's decisions (-force trains them all again).
func notPruned(l *ledger.Ledger, id string, s *Spec, trials []Trial) ([]Trial, error) {
	prev, err := previous(l, id, s)
	if err != nil {
		return nil, err
	}
	var out []Trial
	for _, t := range trials {
		if r, ok := prev[trialKey(t.Values)]; !ok || r.Status != record.StatusPruned {
			out = append(out, t)
		}
	}
	return out, nil
}
