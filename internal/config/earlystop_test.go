package config

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadAdaptiveSweep: tpe and cmaes take ranges and a budget, and
// early_stop maps onto a pruner with Optuna's defaults.
func TestLoadAdaptiveSweep(t *testing.T) {
	t.Run("TPEWithASHA", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  method: tpe\n  trials: 12\n  metric: val_loss\n  goal: minimize\n  parameters:\n"+
			"    train.lr: {min: 1.0e-4, max: 0.1, log: true}\n    train.opt: [adam, sgd]\n"+
			"  early_stop: {method: asha, min_steps: 2}\n")
		require.NoError(t, err)
		assert.True(t, s.Adaptive())
		assert.Equal(t, 12, s.Trials)
		assert.Equal(t, 7, s.Seed, "the experiment's seed is the sampler's")
		assert.Equal(t, &EarlyStop{Method: "asha", Metric: "val_loss", Goal: "minimize", MinSteps: 2, ReductionFactor: 4}, s.EarlyStop)
	})
	t.Run("CMAES", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  method: cmaes\n  trials: 5\n  metric: acc\n  parameters:\n"+
			"    train.lr: {min: 1.0e-4, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 256, int: true}\n")
		require.NoError(t, err)
		assert.Equal(t, "cmaes", s.Method)
		assert.Nil(t, s.EarlyStop)
	})
	t.Run("GridWithMedian", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  metric: acc\n  parameters: {train.lr: [0.1, 0.01]}\n  early_stop: {method: median}\n")
		require.NoError(t, err)
		assert.Equal(t, &EarlyStop{Method: "median", Metric: "acc", Goal: "maximize", MinSteps: 1, WarmupTrials: 5}, s.EarlyStop)
	})
	t.Run("HyperbandOwnMetric", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  method: random\n  trials: 4\n  metric: acc\n  parameters: {train.lr: [0.1, 0.01]}\n"+
			"  early_stop: {method: hyperband, metric: loss, goal: minimize, min_steps: 1, max_steps: 27, reduction_factor: 3, warmup_trials: 2}\n")
		require.NoError(t, err)
		assert.Equal(t, &EarlyStop{Method: "hyperband", Metric: "loss", Goal: "minimize", MinSteps: 1, ReductionFactor: 3, MaxSteps: 27, WarmupTrials: 2}, s.EarlyStop)
	})
}

func TestLoadAdaptiveSweepErrors(t *testing.T) {
	const tpe = "sweep:\n  method: tpe\n  trials: 4\n  metric: acc\n"
	bad := []struct{ name, sweep, want string }{
		{"TPENoTrials", "sweep:\n  method: tpe\n  metric: acc\n  parameters: {train.lr: [1.0]}\n", "sweep.trials: method: tpe needs trials: N"},
		{"TPENoMetric", "sweep:\n  method: tpe\n  trials: 3\n  parameters: {train.lr: [1.0]}\n", "sweep.metric: method: tpe optimises a metric"},
		{"CMAESList", "sweep:\n  method: cmaes\n  trials: 3\n  metric: acc\n  parameters: {train.opt: [adam, sgd]}\n", "sweep.parameters.train.opt: method: cmaes searches numeric ranges only"},
		{"TPENestedChoice", tpe + "  parameters: {train.layers: [[1, 2], [3]]}\n", "method: tpe takes choices that are numbers, strings"},
		{"BadMethod", "sweep:\n  method: bayes\n  parameters: {train.lr: [1.0]}\n", `sweep.method: "bayes" is not one of grid, random, tpe, cmaes`},
		{"EarlyStopNotMapping", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: asha\n", "sweep.early_stop: want a mapping"},
		{"EarlyStopNoMethod", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {min_steps: 2}\n", "sweep.early_stop.method: name the pruner"},
		{"EarlyStopBadMethod", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: ash}\n", `sweep.early_stop.method: "ash" is not one of median, asha, hyperband (did you mean "asha"?)`},
		{"EarlyStopUnknownKey", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: asha, min_step: 2}\n", `sweep.early_stop.min_step: unknown key (did you mean "min_steps"?)`},
		{"EarlyStopNoMetric", "sweep:\n  parameters: {train.lr: [1.0]}\n  early_stop: {method: median}\n", "sweep.early_stop.metric: name the metric"},
		{"MedianReduction", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: median, reduction_factor: 3}\n", "sweep.early_stop.reduction_factor: applies to methods asha and hyperband"},
		{"ASHAMaxSteps", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: asha, max_steps: 9}\n", "sweep.early_stop.max_steps: applies to method: hyperband only"},
		{"ReductionOne", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: asha, reduction_factor: 1}\n", "sweep.early_stop.reduction_factor: want an integer ≥ 2, found 1"},
		{"ASHAZeroSteps", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: asha, min_steps: 0}\n", "sweep.early_stop.min_steps: want an integer ≥ 1, found 0"},
		{"MaxBelowMin", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: hyperband, min_steps: 4, max_steps: 2}\n", "sweep.early_stop.max_steps: want an integer ≥ 4, found 2"},
		{"BadGoal", tpe + "  parameters: {train.lr: [1.0]}\n  early_stop: {method: asha, goal: up}\n", `sweep.early_stop.goal: "up" is not one of maximize, minimize`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sweepOf(t, tc.sweep)
			var ce *Error
			require.True(t, errors.As(err, &ce), "err = %v", err)
			assert.Equal(t, "experiments/x.yaml", ce.Pos.File)
			assert.GreaterOrEqual(t, ce.Pos.Line, 6, "at the sweep block")
			assert.NotZero(t, ce.Pos.Col)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
