package sweep

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/search"
)

func trialOf(n int, state, status string, x float64) search.Trial {
	t := search.Trial{Number: n, State: state, Params: map[string]float64{"x": x}, Attrs: map[string]any{}}
	if status != "" {
		t.Attrs[attrStatus] = status
	}
	return t
}

func TestPlanResume(t *testing.T) {
	trials := []search.Trial{
		trialOf(0, "complete", "finished", 1),
		trialOf(1, "pruned", "pruned", 2),
		trialOf(2, "fail", "failed", 3),
		trialOf(3, "fail", "crashed", 4),
		trialOf(4, "fail", "interrupted", 5),
		trialOf(5, "fail", "crashed", 6),
		trialOf(6, "complete", "finished", 6), // 6 crashed, then ran again
	}
	t.Run("Resume", func(t *testing.T) {
		plan := planResume(trials, 10, false)
		assert.Equal(t, 4, plan.Spent, "finished, pruned and failed trials spend the budget")
		assert.Equal(t, 6, plan.Asks)
		assert.Equal(t, []map[string]float64{{"x": 4}, {"x": 5}}, plan.Again, "the interrupted and crashed points run again, once")
	})
	t.Run("RetryFailed", func(t *testing.T) {
		plan := planResume(trials, 10, true)
		assert.Equal(t, []map[string]float64{{"x": 3}}, plan.Again)
		assert.Equal(t, 1, plan.Asks, "-retryFailed asks for nothing new")
	})
	t.Run("BudgetSpent", func(t *testing.T) {
		plan := planResume(trials, 4, false)
		assert.Zero(t, plan.Asks)
		assert.Empty(t, plan.Again)
	})
	t.Run("WaitingFirst", func(t *testing.T) {
		waiting := append(append([]search.Trial(nil), trials...), trialOf(7, "waiting", "", 4))
		plan := planResume(waiting, 10, false)
		assert.Equal(t, []map[string]float64{{"x": 5}}, plan.Again, "a point still waiting is not enqueued twice")
	})
}

// TestScheduleAdaptive: every slot stays busy, asks go one at a time and
// stop at the budget; a failing ask stops the sweep with its error.
func TestScheduleAdaptive(t *testing.T) {
	slots := []Slot{{ID: 0}, {ID: 1}, {ID: 2}}
	t.Run("Budget", func(t *testing.T) {
		var asked, inAsk, running, peak atomic.Int32
		ask := func(context.Context) (Trial, error) {
			if inAsk.Add(1) > 1 {
				t.Error("two asks at once")
			}
			defer inAsk.Add(-1)
			return Trial{Index: int(asked.Add(1)) - 1}, nil
		}
		run := func(_ context.Context, tr Trial, _ Slot) Outcome {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(10 * time.Millisecond)
			running.Add(-1)
			return Outcome{Status: record.StatusFinished}
		}
		outs, err := scheduleAdaptive(context.Background(), 7, slots, ask, run, func(Outcome) bool { return false })
		require.NoError(t, err)
		assert.Len(t, outs, 7)
		assert.Equal(t, int32(7), asked.Load())
		assert.Equal(t, int32(3), peak.Load(), "three slots, three trials at once")
	})
	t.Run("AskFails", func(t *testing.T) {
		boom := errors.New("helper gone")
		n := 0
		ask := func(context.Context) (Trial, error) {
			if n++; n > 2 {
				return Trial{}, boom
			}
			return Trial{Index: n}, nil
		}
		run := func(context.Context, Trial, Slot) Outcome { return Outcome{Status: record.StatusFinished} }
		outs, err := scheduleAdaptive(context.Background(), 10, slots, ask, run, func(Outcome) bool { return false })
		assert.ErrorIs(t, err, boom)
		assert.Len(t, outs, 2)
	})
	t.Run("Stop", func(t *testing.T) {
		n := 0
		ask := func(context.Context) (Trial, error) { n++; return Trial{Index: n}, nil }
		run := func(context.Context, Trial, Slot) Outcome { return Outcome{Status: record.StatusFailed} }
		outs, err := scheduleAdaptive(context.Background(), 10, slots[:1], ask, run, func(o Outcome) bool { return true })
		require.NoError(t, err)
		assert.Len(t, outs, 1, "stop ends the asking")
	})
}

func TestStudyTrials(t *testing.T) {
	spec := &Spec{Method: "tpe", Parameters: []Param{{Key: "x", Min: 0, Max: 10}}}
	got := studyTrials(spec, []search.Trial{
		trialOf(0, "complete", "finished", 1),
		trialOf(1, "fail", "crashed", 2),
		trialOf(2, "complete", "finished", 2),
		trialOf(3, "waiting", "", 9),
	})
	assert.Equal(t, []Trial{{Index: 0, Values: []config.KV{{Key: "x", Value: 1.0}}}, {Index: 2, Values: []config.KV{{Key: "x", Value: 2.0}}}}, got)
}

// TestVerdict: how each outcome is told to Optuna.
func TestVerdict(t *testing.T) {
	one := 1.0
	tpe := &studyTrial{spec: &Spec{Method: "tpe", Metric: "acc"}}
	grid := &studyTrial{spec: &Spec{Method: "grid", Metric: "acc", EarlyStop: &config.EarlyStop{Method: "median", Metric: "loss"}}}
	for _, tc := range []struct {
		name   string
		st     *studyTrial
		o      Outcome
		last   *float64
		state  search.State
		value  *float64
		status string
	}{
		{"Finished", tpe, Outcome{Status: record.StatusFinished, Metrics: map[string]float64{"acc": 0.9}}, nil, search.Complete, ptr(0.9), "finished"},
		{"FinishedWithoutMetric", tpe, Outcome{Status: record.StatusFinished}, &one, search.Fail, nil, "finished without acc"},
		{"GridTellsPrunersMetric", grid, Outcome{Status: record.StatusFinished, Metrics: map[string]float64{"acc": 0.9, "loss": 0.2}}, nil, search.Complete, ptr(0.2), "finished"},
		{"GridLastReported", grid, Outcome{Status: record.StatusFinished}, &one, search.Complete, &one, "finished"},
		{"Pruned", tpe, Outcome{Status: record.StatusPruned}, &one, search.Pruned, nil, "pruned"},
		{"Failed", tpe, Outcome{Status: record.StatusFailed}, nil, search.Fail, nil, "failed"},
		{"Interrupted", tpe, Outcome{Status: record.StatusInterrupted}, nil, search.Fail, nil, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, value, attrs := tc.st.verdict(tc.o, tc.last)
			assert.Equal(t, tc.state, state)
			assert.Equal(t, tc.value, value)
			assert.Equal(t, tc.status, attrs[attrStatus])
			assert.NotContains(t, attrs, attrRun, "no run id, no attribute")
		})
	}
}

func ptr(v float64) *float64 { return &v }
