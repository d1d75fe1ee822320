package sweep

import (
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/config"
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
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestParseSpecNoBlock(t *testing.T) {
	_, err := ParseSpec(experiment(t, ""))
	if err == nil || !strings.Contains(err.Error(), "experiments/x.yaml has no sweep: block") || !strings.Contains(err.Error(), "docs/sweeps.md") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlanChecksTrials(t *testing.T) {
	t.Run("UnknownKey", func(t *testing.T) {
		_, _, err := Plan(experiment(t, "sweep:\n  parameters: {train.lrr: [1.0]}\n"), false)
		if err == nil || !strings.Contains(err.Error(), `trial 1 (train.lrr=1.0): unknown key "train.lrr" (did you mean "train.lr"?)`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("WrongKind", func(t *testing.T) {
		_, _, err := Plan(experiment(t, "sweep:\n  parameters: {train.hidden: [32, big]}\n"), false)
		if err == nil || !strings.Contains(err.Error(), "trial 2 (train.hidden=big): train.hidden=big would change a number") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("HugeGridAsksForYes", func(t *testing.T) {
		e := experiment(t, "sweep:\n  parameters:\n    train.lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n    train.hidden: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n    train.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
		_, _, err := Plan(e, false)
		if err == nil || !strings.Contains(err.Error(), "1100 trials (10 × 10 × 11 values of train.epochs, train.hidden, train.lr); pass -yes") {
			t.Fatalf("err = %v", err)
		}
		if _, trials, err := Plan(e, true); err != nil || len(trials) != 1100 {
			t.Fatalf("with yes: %d trials, %v", len(trials), err)
		}
	})
}
