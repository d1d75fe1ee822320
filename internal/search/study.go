package search

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/magelab/magelab/internal/config"
)

// State is how a trial ended, as Optuna records it.
type State string

// The states a sweep tells.
const (
	Complete State = "complete"
	Pruned   State = "pruned"
	Fail     State = "fail"
)

// Options say which study to open and how.
type Options struct {
	Python, Script string // the helper venv's interpreter and helper.py (EnsureVenv)
	Env            []string
	Journal        string // the study's JournalStorage file
	Name           string // the study's name: the sweep's id
	Spec           *config.Sweep
	Log            io.Writer // the helper's stderr (Optuna's warnings)
	Attrs          map[string]any
}

// Study is an Optuna study driven through the helper. Its methods may be
// called from several goroutines: requests go one at a time.
type Study struct {
	h       *helper
	spec    *config.Sweep
	journal string
	sign    float64 // reports are multiplied by it, so that the pruner reads them in the study's direction
	space   bool    // trials get their values from the sampler (tpe, cmaes)
}

// Trial is one trial of the study as the journal has it.
type Trial struct {
	Number   int                `json:"number"`
	State    string             `json:"state"` // running, waiting, complete, pruned, fail
	Params   map[string]float64 `json:"params"`
	Value    *float64           `json:"value"`
	Attrs    map[string]any     `json:"user_attrs"`
	LastStep *int               `json:"last_step"`
}

// Attr is the trial's user attribute key as a string, "" when unset.
func (t Trial) Attr(key string) string {
	s, _ := t.Attrs[key].(string)
	return s
}

// Open starts the helper and opens (or creates) the study in the journal
// with the sweep's sampler and pruner; it returns the trials the journal
// already holds.
func Open(ctx context.Context, o Options) (*Study, []Trial, error) {
	h, err := startHelper(o.Python, o.Script, o.Env, o.Log)
	if err != nil {
		return nil, nil, err
	}
	s := &Study{h: h, spec: o.Spec, journal: o.Journal, sign: 1, space: o.Spec.Adaptive()}
	direction := o.Spec.Goal
	req := map[string]any{"journal": o.Journal, "study": o.Name, "attrs": o.Attrs,
		"sampler": map[string]any{"name": samplerName(o.Spec), "seed": o.Spec.Seed}}
	if s.space {
		req["space"] = Space(o.Spec.Parameters)
	}
	if es := o.Spec.EarlyStop; es != nil {
		req["pruner"] = PrunerSpec(es)
		if !s.space {
			direction = es.Goal // the study exists for the pruner alone
		}
		if es.Goal != direction {
			s.sign = -1
		}
	}
	req["direction"] = direction
	var resp struct {
		Trials []Trial `json:"trials"`
	}
	if err := s.call(ctx, "open", req, &resp); err != nil {
		h.close(time.Second)
		return nil, nil, fmt.Errorf("open the study %s in %s: %w", o.Name, o.Journal, err)
	}
	return s, resp.Trials, nil
}

// samplerName is the Optuna sampler of the sweep's method: grid and random
// trials come from magelab, so their study's sampler proposes nothing.
func samplerName(s *config.Sweep) string {
	if s.Adaptive() {
		return s.Method
	}
	return "random"
}

// PrunerSpec is the early_stop block as the helper builds the pruner from
// it: MedianPruner, SuccessiveHalvingPruner (asha) or HyperbandPruner.
func PrunerSpec(e *config.EarlyStop) map[string]any {
	m := map[string]any{"method": e.Method, "min_steps": e.MinSteps, "warmup_trials": e.WarmupTrials}
	if e.Method != "median" {
		m["reduction_factor"] = e.ReductionFactor
	}
	if e.Method == "hyperband" && e.MaxSteps > 0 {
		m["max_steps"] = e.MaxSteps
	}
	return m
}

// call makes one request. Only Ask and Report heed ctx (there is nothing
// to ask once a sweep stops); the others go through after it, so that the
// journal learns how the trials ended.
func (s *Study) call(_ context.Context, op string, req map[string]any, resp any) error {
	err := s.h.call(op, req, resp)
	if he, ok := err.(*HelperError); ok {
		he.Journal = s.journal
	}
	return err
}

// Ask starts a trial: its number and, for tpe and cmaes, the values the
// sampler proposes (an enqueued trial's values first).
func (s *Study) Ask(ctx context.Context, attrs map[string]any) (int, []config.KV, error) {
	var resp struct {
		Number int                `json:"number"`
		Params map[string]float64 `json:"params"`
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if err := s.call(ctx, "ask", map[string]any{"attrs": attrs}, &resp); err != nil {
		return 0, nil, err
	}
	if !s.space {
		return resp.Number, nil, nil
	}
	values, err := Values(s.spec.Parameters, resp.Params)
	return resp.Number, values, err
}

// Enqueue makes the next Ask propose params (Optuna's internal
// representation, as Trial.Params has them) before the sampler's own.
func (s *Study) Enqueue(ctx context.Context, params map[string]float64, attrs map[string]any) error {
	return s.call(ctx, "enqueue", map[string]any{"params": params, "attrs": attrs}, nil)
}

// Report tells the pruner the trial's metric at step and returns whether
// the trial should stop.
func (s *Study) Report(ctx context.Context, number, step int, value float64) (bool, error) {
	var resp struct {
		Prune bool `json:"prune"`
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err := s.call(ctx, "report", map[string]any{"number": number, "step": step, "value": s.sign * value}, &resp)
	return resp.Prune, err
}

// Tell ends the trial: complete with value (the sweep's metric), pruned, or
// fail. attrs are stored with it (the run's id, why it failed).
func (s *Study) Tell(ctx context.Context, number int, state State, value *float64, attrs map[string]any) error {
	req := map[string]any{"number": number, "state": string(state), "attrs": attrs}
	if value != nil {
		req["value"] = *value
	}
	return s.call(ctx, "tell", req, nil)
}

// SetAttr stores a user attribute of a trial (the run's id, once known).
func (s *Study) SetAttr(ctx context.Context, number int, key string, value any) error {
	return s.call(ctx, "attr", map[string]any{"number": number, "key": key, "value": value}, nil)
}

// Abandon fails the trials a previous magelab left running (it was killed)
// and returns their numbers.
func (s *Study) Abandon(ctx context.Context) ([]int, error) {
	var resp struct {
		Numbers []int `json:"numbers"`
	}
	err := s.call(ctx, "abandon", nil, &resp)
	return resp.Numbers, err
}

// Trials lists the study's trials.
func (s *Study) Trials(ctx context.Context) ([]Trial, error) {
	var resp struct {
		Trials []Trial `json:"trials"`
	}
	err := s.call(ctx, "trials", nil, &resp)
	return resp.Trials, err
}

// Done is closed when the helper has ended, on Close or by dying.
func (s *Study) Done() <-chan struct{} { return s.h.Done() }

// Close ends the helper; the journal keeps the study.
func (s *Study) Close() { s.h.close(5 * time.Second) }

// Died is the *HelperError of a helper that ended on its own, once Done
// is closed.
func (s *Study) Died() error {
	err := s.h.gone("the sweep", "")
	if he, ok := err.(*HelperError); ok {
		he.Journal = s.journal
	}
	return err
}

// Journal is the study's journal file.
func (s *Study) Journal() string { return s.journal }
