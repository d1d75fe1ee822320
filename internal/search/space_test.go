package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
)

func TestSpace(t *testing.T) {
	params := []config.SweepParam{
		{Key: "train.hidden", Min: 16, Max: 256, Int: true},
		{Key: "train.layers", Min: 1, Max: 8, Int: true, Log: true},
		{Key: "train.lr", Min: 1e-4, Max: 0.1, Log: true},
		{Key: "train.opt", Values: []any{"adam", "sgd"}},
		{Key: "train.wd", Min: 0, Max: 0.5},
	}
	assert.Equal(t, map[string]Distribution{
		"train.hidden": {Type: "int", Low: 16, High: 256},
		"train.layers": {Type: "int", Low: 1, High: 8, Log: true},
		"train.lr":     {Type: "float", Low: 1e-4, High: 0.1, Log: true},
		"train.opt":    {Type: "categorical", Choices: []any{"adam", "sgd"}},
		"train.wd":     {Type: "float", Low: 0, High: 0.5},
	}, Space(params))
}

func TestValues(t *testing.T) {
	params := []config.SweepParam{
		{Key: "train.batch", Values: []any{32, 64}},
		{Key: "train.hidden", Min: 16, Max: 256, Int: true},
		{Key: "train.lr", Min: 1e-4, Max: 0.1, Log: true},
		{Key: "train.opt", Values: []any{"adam", "sgd", nil}},
	}
	t.Run("Typed", func(t *testing.T) {
		kv, err := Values(params, map[string]float64{"train.batch": 1, "train.hidden": 88.0, "train.lr": 0.0017826497151386949, "train.opt": 2})
		require.NoError(t, err)
		assert.Equal(t, []config.KV{{Key: "train.batch", Value: 64}, {Key: "train.hidden", Value: 88},
			{Key: "train.lr", Value: 0.00178265}, {Key: "train.opt", Value: nil}}, kv)
	})
	t.Run("ChoiceOutOfRange", func(t *testing.T) {
		_, err := Values(params, map[string]float64{"train.batch": 2, "train.hidden": 1, "train.lr": 1, "train.opt": 0})
		assert.ErrorContains(t, err, "choice 2 for train.batch, which has 2 choices")
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := Values(params, map[string]float64{"train.batch": 0})
		assert.ErrorContains(t, err, "no value for train.hidden")
	})
}

func TestPrunerSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   config.EarlyStop
		want map[string]any
	}{
		{"Median", config.EarlyStop{Method: "median", MinSteps: 2, WarmupTrials: 5, ReductionFactor: 9}, map[string]any{"method": "median", "min_steps": 2, "warmup_trials": 5}},
		{"ASHA", config.EarlyStop{Method: "asha", MinSteps: 1, ReductionFactor: 3}, map[string]any{"method": "asha", "min_steps": 1, "warmup_trials": 0, "reduction_factor": 3}},
		{"HyperbandAuto", config.EarlyStop{Method: "hyperband", MinSteps: 1, ReductionFactor: 3}, map[string]any{"method": "hyperband", "min_steps": 1, "warmup_trials": 0, "reduction_factor": 3}},
		{"HyperbandMax", config.EarlyStop{Method: "hyperband", MinSteps: 1, ReductionFactor: 3, MaxSteps: 27}, map[string]any{"method": "hyperband", "min_steps": 1, "warmup_trials": 0, "reduction_factor": 3, "max_steps": 27}},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, PrunerSpec(&tc.in)) })
	}
}
