package mlflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"step": 0, "loss": 1.5, "acc": 0.1}
{"step": 1, "loss": null, "acc": 0.2, "note": "text"}

{"loss": 3}
{"step": 2, "loss": 0.5, "acc": 0.3}
{"step": 3, "lo`), 0o644))
	lines, skipped, err := readSteps(path)
	require.NoError(t, err)
	assert.Equal(t, 2, skipped, "a line without a step and the torn last line")
	assert.Equal(t, []stepLine{
		{Step: 0, Metrics: map[string]float64{"loss": 1.5, "acc": 0.1}},
		{Step: 1, Metrics: map[string]float64{"acc": 0.2}},
		{Step: 2, Metrics: map[string]float64{"loss": 0.5, "acc": 0.3}},
	}, lines)

	t.Run("MissingFileIsNoSteps", func(t *testing.T) {
		lines, skipped, err := readSteps(filepath.Join(t.TempDir(), "none.jsonl"))
		assert.NoError(t, err)
		assert.Empty(t, lines)
		assert.Zero(t, skipped)
	})
	t.Run("SpreadOverTheStageBeforeItsEnd", func(t *testing.T) {
		pts := stepPoints(lines, 1000, 1300)
		assert.Equal(t, []metric{
			{Key: "acc", Value: 0.1, Timestamp: 1000, Step: 0}, {Key: "loss", Value: 1.5, Timestamp: 1000, Step: 0},
			{Key: "acc", Value: 0.2, Timestamp: 1100, Step: 1},
			{Key: "acc", Value: 0.3, Timestamp: 1200, Step: 2}, {Key: "loss", Value: 0.5, Timestamp: 1200, Step: 2},
		}, pts)
	})
}

func FuzzStepLine(f *testing.F) {
	for _, s := range []string{`{"step": 0, "loss": 1.5}`, `{"step": 3, "acc": null, "x": "y"}`, `{"loss": 1}`, `{"step": 1e3}`, `{"step": -1, "a": -0.0}`, `[1]`, `{"step": 9223372036854775808}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		l, ok := parseStep([]byte(line))
		if !ok {
			return
		}
		b, err := json.Marshal(map[string]any{"step": l.Step})
		require.NoError(t, err)
		again, ok := parseStep(b)
		require.True(t, ok)
		assert.Equal(t, l.Step, again.Step)
		for k, v := range l.Metrics {
			assert.NotEqual(t, "step", k)
			assert.False(t, v != v, "no NaN")
		}
	})
}
