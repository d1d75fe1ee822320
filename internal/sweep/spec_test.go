package sweep

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/runner"
	"github.com/stretchr/testify/assert"

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
		require.ErrorContains(t, err, `experiments/x.yaml: sweep.parameters.train.lrr: unknown key "train.lrr" (did you mean "train.lr"?)`)
	})
	t.Run("WrongKind", func(t *testing.T) {
		_, _, err := Plan(experiment(t, "sweep:\n  parameters: {train.hidden: [32, big]}\n"), false)
		require.ErrorContains(t, err, "sweep.parameters.train.hidden: train.hidden=big would change a number")
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

// hugeSweeps are sweeps whose trials would not fit in memory, or take
// hours to list: each is counted, never expanded.
var hugeSweeps = []struct {
	name, block, size string
}{
	{"RandomTwoBillion", "sweep:\n  method: random\n  trials: 2000000000\n  parameters: {train.lr: {min: 0.001, max: 0.1}}\n", "2000000000 trials"},
	{"RandomBeyondMakeslice", "sweep:\n  method: random\n  trials: 99999999999999\n  parameters: {train.lr: {min: 0.001, max: 0.1}}\n", "99999999999999 trials"},
	{"GridTenToTheTen", "sweep:\n  parameters:\n" + tenLists(10), "10000000000 trials"},
	{"GridOverflowingInt", "sweep:\n  parameters:\n" + tenLists(20), "more than 9e18 trials"},
}

// tenLists is n swept keys of ten values each.
func tenLists(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    train.k%02d: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n", i)
	}
	return b.String()
}

func hugeExperiment(t *testing.T, block string, keys int) *config.Experiment {
	t.Helper()
	dir := t.TempDir()
	mustWrite(t, dir, "python/train.py", "print('ok')\n")
	var train strings.Builder
	train.WriteString("train: {lr: 0.01")
	for i := range keys {
		fmt.Fprintf(&train, ", k%02d: 0", i)
	}
	train.WriteString("}\n")
	mustWrite(t, dir, "experiments/x.yaml", "name: x\nstages:\n  train: python/train.py\n"+train.String()+block)
	e, err := config.Load(dir, "x")
	require.NoError(t, err)
	return e
}

func TestPlanRefusesHugeSweeps(t *testing.T) {
	for _, tt := range hugeSweeps {
		t.Run(tt.name, func(t *testing.T) {
			e := hugeExperiment(t, tt.block, 20)
			for _, yes := range []bool{false, true} {
				_, trials, err := Plan(e, yes)
				require.ErrorContains(t, err, tt.size, "yes=%v", yes)
				require.ErrorContains(t, err, "is more than a sweep may have (100000): shorten the lists or split the sweep; -dry shows its first trials")
				assert.Nil(t, trials)
			}
			_, err := PlanMatrix(e, "", 4)
			require.ErrorContains(t, err, tt.size)
		})
	}
}

func TestDryRunCountsHugeSweeps(t *testing.T) {
	for _, tt := range hugeSweeps {
		t.Run(tt.name, func(t *testing.T) {
			e := hugeExperiment(t, tt.block, 20)
			var out bytes.Buffer
			p := runner.NewProject(e.Root, runner.Settings{CUDAVisibleSet: true}, &out)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Run(context.Background(), p, e, Options{Dry: true, Cores: 2})
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			assert.Contains(t, lines[0], tt.size+" ", "the size comes first: %s", out.String())
			assert.Len(t, lines, 1+dryList+1, "the first %d trials and a line saying the rest are not listed:\n%s", dryList, out.String())
			assert.Contains(t, lines[len(lines)-1], "a sweep may have 100000 trials at most")
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "a dry run allocates what it prints, not the sweep")
		})
	}
}

func TestDryRunListsLargeSweepsInPart(t *testing.T) {
	e := hugeExperiment(t, "sweep:\n  parameters:\n"+tenLists(4), 4) // 10^4: above ConfirmAbove, below MaxTrials
	var out bytes.Buffer
	_, err := Run(context.Background(), runner.NewProject(e.Root, runner.Settings{CUDAVisibleSet: true}, &out), e, Options{Dry: true, Cores: 2})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "sweep "+ID(e)+": 10000 trials on ")
	assert.Contains(t, out.String(), "   1  train.k00=0 train.k01=0 train.k02=0 train.k03=0\n")
	assert.Contains(t, out.String(), "  20  train.k00=0 train.k01=0 train.k02=1 train.k03=9\n")
	assert.Contains(t, out.String(), "(the first 20 of 10000; the rest are not listed; run them with -yes)")
}

func TestFirstMatchesExpand(t *testing.T) {
	s := mustSpec(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 1.0e-3]\n    train.hidden: [64, 128]\n    train.opt: [adam, sgd]\n")
	all := Expand(s)
	for n := 0; n <= len(all); n++ {
		assert.Equal(t, trialList(all[:n]), trialList(First(s, n)), "First(%d)", n)
	}
}
