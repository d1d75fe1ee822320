package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sweepOf loads an experiment file with the given sweep block from a
// temporary project and returns the block.
func sweepOf(tb testing.TB, sweep string) (*Sweep, error) {
	tb.Helper()
	dir := tb.TempDir()
	for rel, content := range map[string]string{
		"python/train.py": "print('ok')\n",
		"experiments/x.yaml": "name: x\nseed: 7\nstages:\n  train: python/train.py\n" +
			"train: {lr: 0.01, hidden: 64, opt: adam, epochs: 3}\n" + sweep,
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
		require.NoError(tb, os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644))
	}
	e, err := Load(dir, "x")
	if err != nil {
		return nil, err
	}
	return e.Sweep, nil
}

func TestLoadSweep(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n")
		require.NoError(t, err)
		require.Equal(t, "grid", s.Method, "spec %+v", s)
		require.Equal(t, "maximize", s.Goal, "spec %+v", s)
		require.Equal(t, 7, s.Seed, "spec %+v", s)
		require.Zero(t, s.Parallel, "spec %+v", s)
		require.Equal(t, 1, s.GPUsPerTrial, "spec %+v", s)
		require.Equal(t, 1, s.TrialsPerGPU, "spec %+v", s)
		require.Equal(t, 1, s.ThreadsPerTrial, "spec %+v", s)
		require.Zero(t, s.MaxFailures, "spec %+v", s)
		require.Len(t, s.Parameters, 1, "spec %+v", s)
	})
	t.Run("Random", func(t *testing.T) {
		s, err := sweepOf(t, "sweep:\n  method: random\n  trials: 5\n  seed: 3\n  parallel: 2\n  parameters:\n"+
			"    train.lr: {min: 1.0e-4, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 256, int: true}\n    train.opt: [adam, sgd]\n")
		require.NoError(t, err)
		require.Equal(t, 5, s.Trials, "spec %+v", s)
		require.Equal(t, 3, s.Seed, "spec %+v", s)
		require.Equal(t, 2, s.Parallel, "spec %+v", s)
		require.Equal(t, "train.hidden", s.Parameters[0].Key, "spec %+v", s)
		require.True(t, s.Parameters[0].Int, "spec %+v", s)
		require.True(t, s.Parameters[1].Log, "spec %+v", s)
	})
	bad := []struct{ name, sweep, want string }{
		{"UnknownKey", "sweep:\n  metrik: acc\n  parameters: {train.lr: [1.0]}\n", `sweep.metrik: unknown key (did you mean "metric"?)`},
		{"BadMethod", "sweep:\n  method: gird\n  parameters: {train.lr: [1.0]}\n", `sweep.method: "gird" is not one of grid, random, tpe, cmaes (did you mean "grid"?)`},
		{"BadGoal", "sweep:\n  goal: max\n  parameters: {train.lr: [1.0]}\n", `sweep.goal: "max" is not one of maximize, minimize`},
		{"NoParameters", "sweep:\n  metric: acc\n", "sweep.parameters: want a mapping"},
		{"EmptyList", "sweep:\n  parameters: {train.lr: []}\n", "sweep.parameters.train.lr: an empty list gives no trial"},
		{"ScalarParam", "sweep:\n  parameters: {train.lr: 0.1}\n", "sweep.parameters.train.lr: want a list of values ([0.1])"},
		{"GridRange", "sweep:\n  parameters: {train.lr: {min: 0.1, max: 1}}\n", "a grid needs a list of values; a range {min, max} is sampled by methods random, tpe and cmaes"},
		{"RandomNoTrials", "sweep:\n  method: random\n  parameters: {train.lr: [1.0]}\n", "sweep.trials: method: random needs trials: N"},
		{"GridTrials", "sweep:\n  trials: 3\n  parameters: {train.lr: [1.0]}\n", "sweep.trials: a grid runs every combination"},
		{"ZeroTrials", "sweep:\n  method: random\n  trials: 0\n  parameters: {train.lr: [1.0]}\n", "sweep.trials: want an integer ≥ 1, found 0"},
		{"LogMin", "sweep:\n  method: random\n  trials: 2\n  parameters: {train.lr: {min: 0, max: 1, log: true}}\n", "a log range needs min > 0"},
		{"MinAboveMax", "sweep:\n  method: random\n  trials: 2\n  parameters: {train.lr: {min: 2, max: 1}}\n", "min 2 is above max 1"},
		{"IntNotWhole", "sweep:\n  method: random\n  trials: 2\n  parameters: {train.hidden: {min: 1.5, max: 9, int: true}}\n", "an int range needs whole min and max"},
		{"RangeKey", "sweep:\n  method: random\n  trials: 2\n  parameters: {train.lr: {min: 1, max: 2, lg: true}}\n", `sweep.parameters.train.lr.lg: unknown key (did you mean "log"?)`},
		{"Parallel", "sweep:\n  parallel: many\n  parameters: {train.lr: [1.0]}\n", "sweep.parallel: want auto or an integer ≥ 1, found many"},
		{"Threads", "sweep:\n  threads_per_trial: 0\n  parameters: {train.lr: [1.0]}\n", "sweep.threads_per_trial: want an integer ≥ 1"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sweepOf(t, tc.sweep)
			var ce *Error
			msg := "err = %v\nwant it at experiments/x.yaml:LINE:COL of the sweep block, saying %q"
			require.ErrorAs(t, err, &ce, msg, err, tc.want)
			require.Equal(t, "experiments/x.yaml", ce.Pos.File, msg, err, tc.want)
			require.GreaterOrEqual(t, ce.Pos.Line, 6, msg, err, tc.want)
			require.NotZero(t, ce.Pos.Col, msg, err, tc.want)
			require.ErrorContains(t, err, tc.want, msg, err, tc.want)
		})
	}
}

// TestSweepSeedFollowsSet: with no seed: of its own, the sweep samples with
// the experiment's seed, -set seed=N included; its own seed: wins.
func TestSweepSeedFollowsSet(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "experiments"), 0o755)
	os.MkdirAll(filepath.Join(dir, "python"), 0o755)
	os.WriteFile(filepath.Join(dir, "python", "train.py"), nil, 0o644)
	for name, block := range map[string]string{"own": "  seed: 3\n", "follows": ""} {
		os.WriteFile(filepath.Join(dir, "experiments", name+".yaml"), []byte("seed: 7\nstages: {train: python/train.py}\ntrain: {lr: 0.1}\n"+
			"sweep:\n  method: random\n  trials: 2\n"+block+"  parameters: {train.lr: [0.1, 0.2]}\n"), 0o644)
	}
	for name, want := range map[string]int{"own": 3, "follows": 9} {
		e, err := Load(dir, name)
		require.NoError(t, err)
		require.NoError(t, e.Set("seed=9"))
		assert.Equal(t, want, e.Sweep.Seed, "%s: sweep seed after -set seed=9", name)
	}
}
