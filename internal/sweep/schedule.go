package sweep

import (
	"context"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// Outcome is what became of one trial.
type Outcome struct {
	Trial  Trial
	Slot   Slot
	RunID  string
	Status record.Status // "" when the trial never ran
	Reused bool          // an earlier attempt of the sweep had finished it
	// PrunedStep is the step at which early stopping stopped the trial.
	PrunedStep *int
	Metrics    map[string]float64
	Duration   time.Duration
	Err        error
}

// Ran reports whether the trial was run or reused.
func (o Outcome) Ran() bool { return o.Status != "" }

// OK reports whether the trial finished.
func (o Outcome) OK() bool { return o.Status == record.StatusFinished }

// Failed reports whether the trial ran and failed: neither finished, nor
// pruned (a decision, not a failure), nor interrupted.
func (o Outcome) Failed() bool {
	return o.Ran() && !o.OK() && o.Status != record.StatusPruned && o.Status != record.StatusInterrupted
}

// runFunc runs one trial in one slot.
type runFunc func(ctx context.Context, t Trial, s Slot) Outcome

// schedule runs trials on slots: one worker per slot takes the next trial in
// order as soon as its slot is free, so that slots never idle while trials
// wait. It hands out no more trials once ctx is done or stop, called after
// each outcome, says so; trials already running finish. The outcomes are in
// trial order; those never run have no status.
func schedule(ctx context.Context, trials []Trial, slots []Slot, run runFunc, stop func(Outcome) bool) []Outcome {
	out := make([]Outcome, len(trials))
	for i, t := range trials {
		out[i].Trial = t
	}
	var (
		mu      sync.Mutex
		next    int
		stopped bool
		wg      sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || next >= len(trials) || ctx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for _, s := range slots {
		wg.Go(func() {
			for {
				i, ok := take()
				if !ok {
					return
				}
				o := run(ctx, trials[i], s)
				o.Trial, o.Slot = trials[i], s
				mu.Lock()
				out[i] = o
				if stop(o) {
					stopped = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// failurePolicy is the early stop of spec: after MaxFailures failed trials,
// or by default after 3 while none has finished. It returns the reason to
// stop, or "".
func failurePolicy(s *Spec) func(failed, finished int) string {
	return func(failed, finished int) string {
		switch {
		case s.MaxFailures == -1:
		case s.MaxFailures > 0 && failed >= s.MaxFailures:
			return pluralf(failed, "trial has", "trials have") + " failed (max_failures: " + itoa(s.MaxFailures) + ")"
		case s.MaxFailures == 0 && failed >= 3 && finished == 0:
			return pluralf(failed, "trial has", "trials have") + " failed and none has finished: the setup looks broken (set max_failures: -1 to run every trial anyway)"
		}
		return ""
	}
}
