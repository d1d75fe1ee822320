package ui

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDownsampleKeepsExtremes(t *testing.T) {
	n := 1_000_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i] = float64(i), math.Sin(float64(i)/5000)
	}
	y[123_457], y[876_543] = 50, -40 // one-step spikes
	y[500_000] = math.NaN()          // a diverged step: a gap
	ox, oy := Downsample(x, y, 800)
	assert.LessOrEqual(t, len(ox), 2*800+2)
	assert.Equal(t, len(ox), len(oy))
	assert.Contains(t, oy, 50.0, "the upward spike survives")
	assert.Contains(t, oy, -40.0, "the downward spike survives")
	assert.Equal(t, 123_457.0, ox[slices.Index(oy, 50.0)], "at its own step")
	assert.True(t, slices.ContainsFunc(oy, math.IsNaN), "the gap survives")
	assert.Equal(t, 0.0, ox[0])
	assert.Equal(t, float64(n-1), ox[len(ox)-1])
	assert.True(t, slices.IsSorted(ox), "points stay in step order")
	t.Run("ShortSeriesUnchanged", func(t *testing.T) {
		sx, sy := Downsample(x[:100], y[:100], 800)
		assert.Equal(t, x[:100], sx)
		assert.Equal(t, y[:100], sy)
	})
}

func TestSeriesAPIDownsamples(t *testing.T) {
	l := sixRuns(t)
	var b strings.Builder
	for i := range 100_000 {
		v := 1.0
		if i == 77_777 {
			v = 1000
		}
		fmt.Fprintf(&b, "{\"step\": %d, \"loss\": %g, \"lr\": null, \"tag\": \"x\"}\n", i, v)
	}
	b.WriteString(`{"step": 100000, "loss": 2, "nested": {"a": 1}}` + "\n")
	b.WriteString(`{"step": 100001, "lo` + "\n") // torn: skipped
	require.NoError(t, os.WriteFile(filepath.Join(l.RunDir(runID(1)), "out", "metrics.jsonl"), []byte(b.String()), 0o644))
	h := NewServer(l).Handler()
	var ans seriesAnswer
	getJSON(t, h, "/api/runs/00000001/series?width=300&names=loss", http.StatusOK, &ans)
	require.Len(t, ans.Series, 1)
	s := ans.Series[0]
	assert.Equal(t, 100_001, s.Points, "every line read, the torn one left out")
	assert.LessOrEqual(t, len(s.X), 602)
	assert.Contains(t, []float64(s.Y), 1000.0, "the spike is in the answer")
	assert.Equal(t, 2.0, s.Y[len(s.Y)-1], "the line the fast scanner leaves to the decoder")
	t.Run("WidthChecked", func(t *testing.T) {
		var e apiError
		getJSON(t, h, "/api/runs/00000001/series?width=0", http.StatusBadRequest, &e)
	})
	t.Run("GrowingFileReadFromWhereItStopped", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(l.RunDir(runID(1)), "out", "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		fmt.Fprintf(f, "{\"step\": 100002, \"loss\": -5}\n")
		f.Close()
		getJSON(t, h, "/api/runs/00000001/series?width=300&names=loss", http.StatusOK, &ans)
		assert.Equal(t, 100_002, ans.Series[0].Points, "the torn line completed is still invalid; the new one counts")
		assert.Contains(t, []float64(ans.Series[0].Y), -5.0)
	})
}
