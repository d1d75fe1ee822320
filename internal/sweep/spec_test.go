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

func TestParseSpec(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		s, err := ParseSpec(experiment(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Method != "grid" || s.Goal != "maximize" || s.Seed != 7 || s.Parallel != 0 || s.GPUsPerTrial != 1 ||
			s.TrialsPerGPU != 1 || s.ThreadsPerTrial != 1 || s.MaxFailures != 0 || len(s.Parameters) != 1 {
			t.Fatalf("spec %+v", s)
		}
	})
	t.Run("Random", func(t *testing.T) {
		s, err := ParseSpec(experiment(t, "sweep:\n  method: random\n  trials: 5\n  seed: 3\n  parallel: 2\n  parameters:\n"+
			"    train.lr: {min: 1.0e-4, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 256, int: true}\n    train.opt: [adam, sgd]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Trials != 5 || s.Seed != 3 || s.Parallel != 2 || s.Parameters[0].Key != "train.hidden" || !s.Parameters[0].Int || !s.Parameters[1].Log {
			t.Fatalf("spec %+v", s)
		}
	})
	bad := []struct{ name, sweep, want string }{
		{"NoBlock", "", "has no sweep: block"},
		{"UnknownKey", "sweep:\n  metrik: acc\n  parameters: {train.lr: [1.0]}\n", `sweep.metrik: unknown key (did you mean "metric"?)`},
		{"BadMethod", "sweep:\n  method: gird\n  parameters: {train.lr: [1.0]}\n", `sweep.method: "gird" is not one of grid, random (did you mean "grid"?)`},
		{"BadGoal", "sweep:\n  goal: max\n  parameters: {train.lr: [1.0]}\n", `sweep.goal: "max" is not one of maximize, minimize`},
		{"NoParameters", "sweep:\n  metric: acc\n", "sweep.parameters: want a mapping"},
		{"EmptyList", "sweep:\n  parameters: {train.lr: []}\n", "sweep.parameters.train.lr: an empty list gives no trial"},
		{"ScalarParam", "sweep:\n  parameters: {train.lr: 0.1}\n", "sweep.parameters.train.lr: want a list of values ([0.1])"},
		{"GridRange", "sweep:\n  parameters: {train.lr: {min: 0.1, max: 1}}\n", "a grid needs a list of values; a range {min, max} is sampled by method: random"},
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
			e := experiment(t, tc.sweep)
			_, err := ParseSpec(e)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "experiments/x.yaml") {
				t.Fatalf("err = %v\nwant it to name experiments/x.yaml and say %q", err, tc.want)
			}
		})
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
