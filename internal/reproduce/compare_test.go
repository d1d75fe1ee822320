package reproduce

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompareMetrics(t *testing.T) {
	nan := math.NaN()
	tenth, fifth := 0.1, 0.2
	sum := tenth + fifth // 0.30000000000000004 at run time (constants fold exactly)
	cases := []struct {
		name          string
		orig, repro   map[string]float64
		tol           float64
		drifted       []string
		verdict       string
		names         []string // all rows, sorted
		reproducedNew bool     // a metric only the reproduction has is listed
	}{
		{name: "Identical", orig: map[string]float64{"acc": 0.97, "loss": 0.1}, repro: map[string]float64{"acc": 0.97, "loss": 0.1},
			verdict: VerdictReproduced, names: []string{"acc", "loss"}},
		{name: "LastBitDiffersExact", orig: map[string]float64{"acc": sum}, repro: map[string]float64{"acc": 0.3},
			drifted: []string{"acc"}, verdict: VerdictDrifted, names: []string{"acc"}},
		{name: "LastBitWithinTolerance", orig: map[string]float64{"acc": sum}, repro: map[string]float64{"acc": 0.3}, tol: 1e-12,
			verdict: VerdictReproduced, names: []string{"acc"}},
		{name: "BeyondTolerance", orig: map[string]float64{"loss": 1.0}, repro: map[string]float64{"loss": 1.0011}, tol: 1e-3,
			drifted: []string{"loss"}, verdict: VerdictDrifted, names: []string{"loss"}},
		{name: "AtTolerance", orig: map[string]float64{"loss": -2.0}, repro: map[string]float64{"loss": -2.5}, tol: 0.25,
			verdict: VerdictReproduced, names: []string{"loss"}},
		{name: "ZeroOriginalNeedsExact", orig: map[string]float64{"err": 0}, repro: map[string]float64{"err": 1e-300}, tol: 0.5,
			drifted: []string{"err"}, verdict: VerdictDrifted, names: []string{"err"}},
		{name: "NaNMatchesNaN", orig: map[string]float64{"x": nan}, repro: map[string]float64{"x": nan},
			verdict: VerdictReproduced, names: []string{"x"}},
		{name: "NaNAgainstNumber", orig: map[string]float64{"x": nan}, repro: map[string]float64{"x": 1}, tol: 10,
			drifted: []string{"x"}, verdict: VerdictDrifted, names: []string{"x"}},
		{name: "MissingFromReproduction", orig: map[string]float64{"acc": 1, "test_acc": 0.9}, repro: map[string]float64{"acc": 1},
			drifted: []string{"test_acc"}, verdict: VerdictDrifted, names: []string{"acc", "test_acc"}},
		{name: "NewInReproductionIsNotJudged", orig: map[string]float64{"acc": 1}, repro: map[string]float64{"acc": 1, "extra": 5},
			verdict: VerdictReproduced, names: []string{"acc", "extra"}},
		{name: "NoMetrics", verdict: VerdictReproduced},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := CompareMetrics(c.orig, c.repro, c.tol)
			drifted := cmp.Drifted()
			assert.Equal(t, c.drifted, drifted, "drifted %v, want %v", drifted, c.drifted)
			verdict := cmp.Verdict()
			assert.Equal(t, c.verdict, verdict, "verdict %q, want %q", verdict, c.verdict)
			var names []string
			for _, d := range cmp.Metrics {
				names = append(names, d.Name)
			}
			assert.Equal(t, c.names, names, "rows %v, want %v", names, c.names)
		})
	}
}

func TestWriteComparison(t *testing.T) {
	t.Run("Drifted", func(t *testing.T) {
		cmp := CompareMetrics(map[string]float64{"acc": 0.9722222222222222, "loss": 0.25, "test_acc": 0.5},
			map[string]float64{"acc": 0.9722222222222222, "loss": 0.2500001, "extra": 3}, 0)
		var b bytes.Buffer
		require.NoError(t, WriteComparison(&b, cmp))
		want := `metric    original            reproduced          difference          ok
acc       0.9722222222222222  0.9722222222222222  0                   yes
extra     -                   3                   -                   new
loss      0.25                0.2500001           +1e-07 (rel 4e-07)  DRIFT
test_acc  0.5                 -                   -                   MISSING
verdict: drifted: 2 of 3 metrics differ (loss, test_acc; exact)
`
		assert.Equal(t, want, b.String(), "got\n%s\nwant\n%s", b.String(), want)
	})
	t.Run("WithinTolerance", func(t *testing.T) {
		cmp := CompareMetrics(map[string]float64{"loss": 0.25}, map[string]float64{"loss": 0.2499999}, 1e-6)
		var b bytes.Buffer
		WriteComparison(&b, cmp)
		for _, want := range []string{"-1e-07 (rel 4e-07)", "yes (within)", "verdict: reproduced: all 1 metrics within relative tolerance 1e-06"} {
			assert.Contains(t, b.String(), want, "lacks %q:\n%s", want, b.String())
		}
	})
	t.Run("Identical", func(t *testing.T) {
		var b bytes.Buffer
		WriteComparison(&b, CompareMetrics(map[string]float64{"a": 1, "b": 2}, map[string]float64{"a": 1, "b": 2}, 0))
		assert.True(t, strings.HasSuffix(b.String(), "verdict: reproduced: all 2 metrics identical\n"), "got\n%s", b.String())
	})
}

func TestDriftError(t *testing.T) {
	err := &DriftError{Run: "new", Original: "old", Drifted: []string{"loss", "acc"}, Tolerance: 0.01}
	require.Equal(t, ExitDrifted, err.ExitStatus(), "exit status %d", err.ExitStatus())
	require.NotEqual(t, 1, ExitDrifted, "exit status %d", err.ExitStatus())
	require.NotEqual(t, 2, ExitDrifted, "exit status %d", err.ExitStatus())
	require.NotEqual(t, proc.ExitInterrupted, ExitDrifted, "exit status %d", err.ExitStatus())
	msg := err.Error()
	assert.Contains(t, msg, "run new does not reproduce run old: loss, acc did not match within relative tolerance 0.01", "message %q", msg)
}
