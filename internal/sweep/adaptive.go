package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/search"
)

// resumePlan is what an adaptive sweep does with the trials its study
// already holds: how many of the budget are spent, and which points to
// run again first (those interrupted or crashed, or with -retryFailed the
// failed ones).
type resumePlan struct {
	Spent int                  // trials that ended: complete, pruned or failed
	Again []map[string]float64 // points to enqueue, in trial order
	Asks  int                  // trials to ask for in this attempt
}

// planResume reads the study's trials (after Abandon) as the budget
// counts them. A point is run again when its latest trial was
// interrupted or crashed (or failed, with retryFailed): a resumed sweep
// finishes what it had started before it proposes anything new, and
// -retryFailed reruns only the failed points. A point still waiting from
// an attempt that stopped before asking for it is asked for first anyway.
func planResume(trials []search.Trial, budget int, retryFailed bool) resumePlan {
	latest := map[string]search.Trial{}
	var plan resumePlan
	waiting := 0
	for _, t := range trials {
		switch {
		case t.State == "complete", t.State == "pruned", t.State == "fail" && failedRun(t):
			plan.Spent++
		case t.State == "waiting":
			waiting++
		}
		if prev, ok := latest[pointKey(t.Params)]; !ok || t.Number > prev.Number {
			latest[pointKey(t.Params)] = t
		}
	}
	for _, t := range trials {
		if latest[pointKey(t.Params)].Number == t.Number && t.State == "fail" && failedRun(t) == retryFailed {
			plan.Again = append(plan.Again, t.Params)
		}
	}
	if retryFailed {
		plan.Asks = waiting + len(plan.Again)
		return plan
	}
	plan.Asks = max(0, budget-plan.Spent)
	plan.Again = plan.Again[:min(len(plan.Again), max(0, plan.Asks-waiting))]
	return plan
}

// failedRun reports whether a failed Optuna trial is a run that failed (it
// counts against the budget), rather than one stopped from outside.
func failedRun(t search.Trial) bool {
	switch t.Attr(attrStatus) {
	case "interrupted", "crashed", "":
		return false
	}
	return true
}

// pointKey identifies a point by its internal values.
func pointKey(params map[string]float64) string {
	b, _ := json.Marshal(params) // map keys are sorted
	return string(b)
}

// askFunc asks the study for the next trial: its number and values.
type askFunc func(ctx context.Context) (Trial, error)

// scheduleAdaptive keeps every slot busy with trials the study proposes:
// a free slot asks for the next point (one ask at a time, so that the same
// seed asks in the same order), until asks trials were asked, ctx is done,
// an ask fails or stop says so. The outcomes are in the order the trials
// ended.
func scheduleAdaptive(ctx context.Context, asks int, slots []Slot, ask askFunc, run runFunc, stop func(Outcome) bool) ([]Outcome, error) {
	var (
		mu      sync.Mutex
		asked   int
		stopped bool
		askErr  error
		out     []Outcome
		wg      sync.WaitGroup
	)
	take := func() (Trial, bool) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || asked >= asks || ctx.Err() != nil {
			return Trial{}, false
		}
		t, err := ask(ctx)
		if err != nil {
			askErr, stopped = err, true
			return Trial{}, false
		}
		asked++
		return t, true
	}
	for _, s := range slots {
		wg.Go(func() {
			for {
				t, ok := take()
				if !ok {
					return
				}
				o := run(ctx, t, s)
				o.Trial, o.Slot = t, s
				mu.Lock()
				out = append(out, o)
				if stop(o) {
					stopped = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, askErr
}

// studyTrials lists the trials of an adaptive study for the sweep's table:
// one per point (its latest trial), in trial order, numbered as Optuna
// numbers them (so Trial.Index+1 is not a count).
func studyTrials(spec *Spec, trials []search.Trial) []Trial {
	latest := map[string]search.Trial{}
	for _, t := range trials {
		if t.State == "waiting" || len(t.Params) == 0 {
			continue
		}
		k := pointKey(t.Params)
		if prev, ok := latest[k]; !ok || t.Number > prev.Number {
			latest[k] = t
		}
	}
	var out []Trial
	for _, t := range latest {
		values, err := search.Values(spec.Parameters, t.Params)
		if err == nil {
			out = append(out, Trial{Index: t.Number, Values: values})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// probe is a point of the space (each list's first value, each range's
// low end) to check the parameter keys against the experiment before
// anything runs.
func probe(spec *Spec) []config.KV {
	var kv []config.KV
	for _, p := range spec.Parameters {
		switch {
		case !p.IsRange():
			kv = append(kv, config.KV{Key: p.Key, Value: p.Values[0]})
		case p.Int:
			kv = append(kv, config.KV{Key: p.Key, Value: int(p.Min)})
		default:
			kv = append(kv, config.KV{Key: p.Key, Value: p.Min})
		}
	}
	return kv
}

// describeMethod is "tpe (seed 42)" or "grid, early stop: asha on val_loss".
func describeMethod(s *Spec) string {
	m := s.Method
	if s.Sampled() {
		m += fmt.Sprintf(" (seed %d)", s.Seed)
	}
	if es := s.EarlyStop; es != nil {
		m += fmt.Sprintf(", early stop: %s on %s from step %d", es.Method, es.Metric, es.MinSteps)
	}
	return m
}
