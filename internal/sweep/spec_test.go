package sweep

import (
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/stretchr/testify/require"
)

// experiment loads an experiment file with the given sweep block from a
// temporary project.
func experiment(tb testing.TB, sweep string) *config.Experiment {
	tb.Helper()
	dir := tb.TempDir()
	mustWrite(tb, dir, "python/train.py", "print('ok')\n")
	mustWrite(tb, dir, "experiments/x.yaml", "name: x\nseed: 7\nstages:\n  train: python/train.py\n"+
		"train: {lr: 0.01, hidden: 64, opt: adam, epochs: 3}\n"+sweep)
	e, err := config.Load(dir, "x")
	require.NoError(tb, err)
	return e
}

func TestParseSpecNoBlock(t *testing.T) {
	_, err := ParseSpec(experiment(t, ""))
	require.ErrorContains(t, err, "experiments/x.yaml has no sweep: block")
	require.ErrorContains(t, err, "docs/sweeps.md")
}

func TestPlanChecksTrials(t *testing.T) {
	t.Run("UnknownKey", func(t *testing.T) {
		_, _, err := Plan(experiment(t, "sweep:\n  parameters: {train.lrr: [1.0]}\n"), false)
		require.ErrorContains(t, err, `trial 1 (train.lrr=1.0): unknown key "train.lrr" (did you mean "train.lr"?)`)
	})
	t.Run("WrongKind", func(t *testing.T) {
		_, _, err := Plan(experiment(t, "sweep:\n  parameters: {train.hidden: [32, big]}\n"), false)
		require.ErrorContains(t, err, "trial 2 (train.hidden=big): train.hidden=big would change a number")
	})
	t.Run("HugeGridAsksForYes", func(t *testing.T) {
		e := experiment(t, "sweep:\n  parameters:\n    train.lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n    train.hidden: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n    train.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
		_, _, err := Plan(e, false)
		require.ErrorContains(t, err, "1100 trials (10 × 10 × 11 values of train.epochs, train.hidden, train.lr); pass -yes")
		_, trials, err := Plan(e, true)
		require.NoError(t, err, "with yes")
		require.Len(t, trials, 1100, "with yes")
	})
}
