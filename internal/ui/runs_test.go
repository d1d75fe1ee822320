package ui

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunsAPI(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	for _, tc := range []struct {
		name, query string
		want        []string // id ends, in order
		total       int
	}{
		{"NewestFirst", "", []string{"6", "5", "4", "3", "2", "1"}, 6},
		{"FilteredLikeTheCLI", "where=" + url.QueryEscape("val_accuracy>0.92 train.lr=0.01"), []string{"4", "2"}, 2},
		{"FilteredByStatus", "where=status=failed", []string{"5"}, 1},
		{"FilteredByExperiment", "exp=cnn", []string{"6"}, 1},
		{"FilteredBySweep", "sweep=5e1f0c3a9b2d", []string{"4", "3", "2", "1"}, 4},
		{"SortedAscending", "sort=val_accuracy", []string{"1", "3", "2", "4", "6", "5"}, 6},
		{"SortedDescending", "sort=-metrics.val_accuracy", []string{"4", "2", "3", "1", "6", "5"}, 6},
		{"SortedByParam", "sort=-params.train.hidden&where=experiment=mlp", []string{"4", "3", "5", "2", "1"}, 5},
		{"FilterAndSort", "where=" + url.QueryEscape("experiment=mlp status=finished") + "&sort=-val_accuracy", []string{"4", "2", "3", "1"}, 4},
		{"FirstPage", "limit=2", []string{"6", "5"}, 6},
		{"SecondPage", "limit=2&offset=2", []string{"4", "3"}, 6},
		{"PastTheEnd", "limit=2&offset=10", []string{}, 6},
		{"SortedPage", "sort=-val_accuracy&limit=2&offset=1", []string{"2", "3"}, 6},
		{"NoMatch", "where=val_accuracy>2", []string{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var page runsPage
			getJSON(t, h, "/api/runs?"+tc.query, http.StatusOK, &page)
			assert.Equal(t, tc.want, ids(page.Runs))
			assert.Equal(t, tc.total, page.Total)
		})
	}
	t.Run("ColumnsAsTheTableShowsThem", func(t *testing.T) {
		var page runsPage
		getJSON(t, h, "/api/runs?exp=mlp", http.StatusOK, &page)
		assert.Equal(t, []string{"train.hidden", "train.lr"}, page.Params, "seed is the same in every run: not a column")
		assert.Equal(t, []string{"val_accuracy", "val_loss"}, page.Metrics)
		require.NotEmpty(t, page.Runs)
		assert.Len(t, page.Runs[0].Short, 8)
		assert.Equal(t, "0123456", page.Runs[0].Git.SHA[:7])
	})
}

func TestRunsAPIRefusesBadInput(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	for name, q := range map[string]string{
		"MalformedWhere":  "where=" + url.QueryEscape("val_accuracy>>"),
		"UnknownOperator": "where=" + url.QueryEscape("a=~b"),
		"EmptySort":       "sort=-",
		"NegativeOffset":  "offset=-1",
		"HugeLimit":       "limit=100000",
		"LimitNotNumber":  "limit=ten",
	} {
		t.Run(name, func(t *testing.T) {
			var e apiError
			getJSON(t, h, "/api/runs?"+q, http.StatusBadRequest, &e)
			assert.Equal(t, ECodeBadRequest, e.Error.Code)
			assert.NotEmpty(t, e.Error.Message)
		})
	}
}

func TestRunAPI(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	t.Run("ByShortID", func(t *testing.T) {
		var d runDetail
		getJSON(t, h, "/api/runs/00000004", http.StatusOK, &d)
		assert.Equal(t, runID(4), d.Run.ID)
		assert.Equal(t, []string{"loss"}, d.Series)
		assert.Equal(t, "val_accuracy", d.Sweep.Metric)
		byName := map[string]metricStat{}
		for _, m := range d.Metrics {
			byName[m.Name] = m
		}
		loss := byName["loss"]
		require.NotNil(t, loss.Best)
		assert.Equal(t, "min", loss.Goal)
		assert.InDelta(t, 0.03, *loss.Best, 1e-9)
		assert.InDelta(t, 1, *loss.BestStep, 0)
		assert.InDelta(t, 2, *loss.Max, 0)
		assert.InDelta(t, 0.97, *byName["val_accuracy"].Final, 1e-9)
		assert.Equal(t, "max", byName["val_accuracy"].Goal)
		names := []string{}
		for _, f := range d.Files {
			names = append(names, f.Name)
		}
		assert.Contains(t, names, "git.patch")
		require.Len(t, d.Logs, 1)
		assert.Equal(t, "logs/train.log", d.Logs[0].Path)
	})
	t.Run("UnknownIsNotFound", func(t *testing.T) {
		var e apiError
		getJSON(t, h, "/api/runs/ffffffff", http.StatusNotFound, &e)
		assert.Equal(t, ECodeNotFound, e.Error.Code)
	})
	t.Run("AmbiguousIsBadRequest", func(t *testing.T) {
		var e apiError
		getJSON(t, h, "/api/runs/019ce1a2", http.StatusBadRequest, &e)
		assert.Equal(t, ECodeAmbiguous, e.Error.Code)
	})
}

func TestSweepAPI(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	var list []sweepItem
	getJSON(t, h, "/api/sweeps", http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "val_accuracy", list[0].Metric)
	var d sweepDetail
	getJSON(t, h, "/api/sweeps/5e1f0c3a9b2d", http.StatusOK, &d)
	assert.Equal(t, []string{"train.hidden", "train.lr"}, d.Params)
	require.Len(t, d.Trials, 4)
	var ranked []float64
	for _, tr := range d.Trials {
		ranked = append(ranked, *tr.Value)
	}
	assert.Equal(t, []float64{0.97, 0.95, 0.93, 0.91}, ranked, "best first")
	assert.Equal(t, 1, d.Trials[0].Rank)
	var best []float64
	for _, b := range d.BestSoFar {
		best = append(best, b.Value)
	}
	assert.Equal(t, []float64{0.91, 0.95, 0.95, 0.97}, best, "best so far, in the order the trials started")
	var e apiError
	getJSON(t, h, "/api/sweeps/000000000000", http.StatusNotFound, &e)
}
