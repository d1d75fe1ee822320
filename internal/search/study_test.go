package search

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
)

// tpeSpec is a tpe sweep over a float, an int and a choice.
func tpeSpec(es *config.EarlyStop) *config.Sweep {
	return &config.Sweep{Method: "tpe", Trials: 12, Seed: 3, Metric: "loss", Goal: "minimize", EarlyStop: es,
		Parameters: []config.SweepParam{
			{Key: "train.hidden", Min: 16, Max: 256, Int: true},
			{Key: "train.lr", Min: 1e-4, Max: 0.1, Log: true},
			{Key: "train.opt", Values: []any{"adam", "sgd"}},
		}}
}

func openStudy(t *testing.T, journal string, spec *config.Sweep) (*Study, []Trial) {
	t.Helper()
	s, trials, err := Open(context.Background(), Options{Python: helperPython, Script: helperScriptPath, Journal: journal, Name: "abc123", Spec: spec})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, trials
}

// TestStudyAskTell: asks propose typed values, tells end trials, and the
// journal keeps them for the next helper.
func TestStudyAskTell(t *testing.T) {
	needHelper(t)
	ctx := context.Background()
	journal := filepath.Join(t.TempDir(), "optuna.journal")
	s, trials := openStudy(t, journal, tpeSpec(nil))
	assert.Empty(t, trials)
	n0, v0, err := s.Ask(ctx, map[string]any{"magelab_run": "r0"})
	require.NoError(t, err)
	n1, v1, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, []int{n0, n1})
	require.Len(t, v0, 3)
	assert.Equal(t, "train.hidden", v0[0].Key)
	assert.IsType(t, 0, v0[0].Value, "an int range gives ints")
	assert.IsType(t, 0.0, v0[1].Value)
	assert.Contains(t, []any{"adam", "sgd"}, v0[2].Value)
	assert.NotEqual(t, v0, v1, "two asks propose two points")
	loss := 0.25
	require.NoError(t, s.Tell(ctx, n0, Complete, &loss, map[string]any{"magelab_status": "finished"}))
	require.NoError(t, s.Tell(ctx, n1, Fail, nil, nil))
	s.Close()

	_, trials = openStudy(t, journal, tpeSpec(nil))
	require.Len(t, trials, 2)
	assert.Equal(t, "complete", trials[0].State)
	assert.Equal(t, 0.25, *trials[0].Value)
	assert.Equal(t, "r0", trials[0].Attr("magelab_run"))
	assert.Equal(t, "finished", trials[0].Attr("magelab_status"))
	assert.Equal(t, "fail", trials[1].State)
}

// TestStudySeed: the same seed proposes the same first points; another
// seed other ones.
func TestStudySeed(t *testing.T) {
	needHelper(t)
	first := func(seed int) [][]config.KV {
		spec := tpeSpec(nil)
		spec.Seed = seed
		s, _ := openStudy(t, filepath.Join(t.TempDir(), "optuna.journal"), spec)
		var out [][]config.KV
		for range 4 {
			_, v, err := s.Ask(context.Background(), nil)
			require.NoError(t, err)
			out = append(out, v)
		}
		return out
	}
	a := first(3)
	assert.Equal(t, a, first(3))
	assert.NotEqual(t, a, first(4))
}

// TestStudyEnqueue: an enqueued point is the next proposal, exactly.
func TestStudyEnqueue(t *testing.T) {
	needHelper(t)
	ctx := context.Background()
	s, _ := openStudy(t, filepath.Join(t.TempDir(), "optuna.journal"), tpeSpec(nil))
	require.NoError(t, s.Enqueue(ctx, map[string]float64{"train.hidden": 64, "train.lr": 0.01, "train.opt": 1}, map[string]any{"magelab_retry": 3}))
	_, v, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []config.KV{{Key: "train.hidden", Value: 64}, {Key: "train.lr", Value: 0.01}, {Key: "train.opt", Value: "sgd"}}, v)
}

// TestStudyPrunes: with ASHA, a trial whose curve is worse than a finished
// one's at a rung is pruned; for a study of a grid (no space), asks carry
// no values.
func TestStudyPrunes(t *testing.T) {
	needHelper(t)
	ctx := context.Background()
	spec := &config.Sweep{Method: "grid", Metric: "acc", Goal: "maximize", Parameters: []config.SweepParam{{Key: "train.lr", Values: []any{0.1, 0.01}}},
		EarlyStop: &config.EarlyStop{Method: "asha", Metric: "loss", Goal: "minimize", MinSteps: 1, ReductionFactor: 2}}
	s, _ := openStudy(t, filepath.Join(t.TempDir(), "optuna.journal"), spec)
	good, values, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	assert.Nil(t, values)
	for step, loss := range []float64{0.9, 0.5, 0.3, 0.2, 0.1} {
		prune, err := s.Report(ctx, good, step+1, loss)
		require.NoError(t, err)
		assert.False(t, prune, "the first trial is the best of every rung")
	}
	v := 0.1
	require.NoError(t, s.Tell(ctx, good, Complete, &v, nil))
	bad, _, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	var prunedAt int
	for step := 1; step <= 5; step++ {
		prune, err := s.Report(ctx, bad, step, 2.0)
		require.NoError(t, err)
		if prune {
			prunedAt = step
			break
		}
	}
	assert.Equal(t, 1, prunedAt, "a loss of 2 is worse than 0.9 at the first rung")
	require.NoError(t, s.Tell(ctx, bad, Pruned, nil, nil))
}

// TestStudyAnswersErrors: a request Optuna refuses is an error of that
// request, and the helper goes on answering.
func TestStudyAnswersErrors(t *testing.T) {
	needHelper(t)
	ctx := context.Background()
	s, _ := openStudy(t, filepath.Join(t.TempDir(), "optuna.journal"), tpeSpec(nil))
	err := s.Tell(ctx, 99, Complete, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "optuna: tell:")
	var he *HelperError
	assert.False(t, errors.As(err, &he))
	_, _, err = s.Ask(ctx, nil)
	assert.NoError(t, err)
}

// TestStudyOpenRefusesOtherDirection: a journal's study made to minimize
// is not silently reused to maximize.
func TestStudyOpenRefusesOtherDirection(t *testing.T) {
	needHelper(t)
	journal := filepath.Join(t.TempDir(), "optuna.journal")
	s, _ := openStudy(t, journal, tpeSpec(nil))
	s.Close()
	spec := tpeSpec(nil)
	spec.Goal = "maximize"
	_, _, err := Open(context.Background(), Options{Python: helperPython, Script: helperScriptPath, Journal: journal, Name: "abc123", Spec: spec})
	assert.ErrorContains(t, err, "was made to minimize, not maximize")
}

// TestHelperDies: a helper killed mid-study is a *HelperError naming how it
// ended and the journal; the journal still opens with every trial told
// before, and the trial left running is failed on the next open.
func TestHelperDies(t *testing.T) {
	needHelper(t)
	ctx := context.Background()
	journal := filepath.Join(t.TempDir(), "optuna.journal")
	s, _ := openStudy(t, journal, tpeSpec(nil))
	n, _, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	v := 1.5
	require.NoError(t, s.Tell(ctx, n, Complete, &v, nil))
	running, _, err := s.Ask(ctx, nil)
	require.NoError(t, err)
	s.h.p.Signal(syscall.SIGKILL)
	<-s.Done()

	_, err = s.Report(ctx, running, 1, 0.5)
	var he *HelperError
	require.True(t, errors.As(err, &he), "err = %v", err)
	assert.Equal(t, "report", he.Op)
	assert.Contains(t, he.How, "signal: killed")
	assert.Equal(t, journal, he.Journal)
	assert.Contains(t, err.Error(), "the study is intact in "+journal+": run the same command again")

	s2, trials := openStudy(t, journal, tpeSpec(nil))
	require.Len(t, trials, 2)
	assert.Equal(t, "complete", trials[0].State)
	assert.Equal(t, "running", trials[1].State)
	abandoned, err := s2.Abandon(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int{running}, abandoned)
	trials, err = s2.Trials(ctx)
	require.NoError(t, err)
	assert.Equal(t, "fail", trials[1].State)
	assert.Equal(t, "crashed", trials[1].Attr("magelab_status"))
}

// TestHelperMissing: a helper that cannot start says so.
func TestHelperMissing(t *testing.T) {
	_, _, err := Open(context.Background(), Options{Python: filepath.Join(t.TempDir(), "nopython"), Script: "x.py", Journal: "j", Name: "n", Spec: tpeSpec(nil)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "optuna helper: start")
}
