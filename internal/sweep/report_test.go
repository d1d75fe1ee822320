package sweep

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
	"github.com/stretchr/testify/require"
)

func reportFixture() *Result {
	spec := &Spec{Method: "grid", Metric: "val_accuracy", Goal: "maximize"}
	tr := func(i int, lr float64, opt string) Trial {
		return Trial{Index: i, Values: []config.KV{{Key: "train.lr", Value: lr}, {Key: "train.opt", Value: opt}}}
	}
	res := &Result{ID: "5e1f0c3a9b2d", Spec: spec, Outcomes: []Outcome{
		{Trial: tr(0, 0.1, "adam"), Slot: Slot{ID: 0, Devices: []string{"0"}}, RunID: "019ce1a2-0000-7000-8000-000000000001", Status: record.StatusFinished,
			Metrics: map[string]float64{"val_accuracy": 0.91}, Duration: 4200 * time.Millisecond},
		{Trial: tr(1, 0.01, "a|b"), Slot: Slot{ID: 1, Devices: []string{"1"}}, RunID: "019ce1a2-0000-7000-8000-000000000002", Status: record.StatusFailed,
			Duration: 800 * time.Millisecond},
		{Trial: tr(2, 0.001, "adam"), RunID: "019ce1a2-0000-7000-8000-000000000003", Status: record.StatusFinished, Reused: true,
			Metrics: map[string]float64{"val_accuracy": 0.97}},
		{Trial: tr(3, 0.0001, "sgd")},
	}}
	res.Best = best(spec, res.Outcomes)
	return res
}

func TestReport(t *testing.T) {
	res := reportFixture()
	require.NotNil(t, res.Best, "best, want trial 3 (0.97)")
	require.Equal(t, 2, res.Best.Trial.Index, "best %+v, want trial 3 (0.97)", res.Best)
	var table, md bytes.Buffer
	WriteTable(&table, res)
	recordtest.CheckGolden(t, "table.txt", table.Bytes())
	require.NoError(t, WriteMarkdown(&md, res))
	recordtest.CheckGolden(t, "summary.md", md.Bytes())

	res.Spec.Goal = "minimize"
	res.Best = best(res.Spec, res.Outcomes)
	order := ranked(res)
	require.Equal(t, 0, res.Best.Trial.Index, "minimize: best %d, order %d %d", res.Best.Trial.Index, order[0].Trial.Index, order[1].Trial.Index)
	require.Equal(t, 0, order[0].Trial.Index, "minimize: best %d, order %d %d", res.Best.Trial.Index, order[0].Trial.Index, order[1].Trial.Index)
	require.Equal(t, 2, order[1].Trial.Index, "minimize: best %d, order %d %d", res.Best.Trial.Index, order[0].Trial.Index, order[1].Trial.Index)
}

func TestMarkdownStaysSmall(t *testing.T) {
	res := &Result{ID: "x", Spec: &Spec{Metric: "m"}}
	for i := range 5000 {
		res.Outcomes = append(res.Outcomes, Outcome{Trial: Trial{Index: i, Values: []config.KV{{Key: "train.note", Value: strings.Repeat("n", 100)}}},
			Status: record.StatusFinished, Metrics: map[string]float64{"m": float64(i)}, RunID: "019ce1a2-0000-7000-8000-000000000003"})
	}
	var md bytes.Buffer
	WriteMarkdown(&md, res)
	require.LessOrEqual(t, md.Len(), 1<<20, "markdown of 5000 trials: %d bytes", md.Len())
	require.Contains(t, md.String(), "… 4500 more trials", "markdown of 5000 trials: %d bytes", md.Len())
	require.Contains(t, md.String(), "| 5000 | finished | 4999 |", "markdown of 5000 trials: %d bytes", md.Len())
}

func TestBoard(t *testing.T) {
	dir := t.TempDir()
	spec := &Spec{Metric: "acc", Goal: "maximize"}
	b := newBoard(spec, 4, 2, func(id string) string { return filepath.Join(dir, id) })
	tr := Trial{Index: 1, Values: []config.KV{{Key: "train.lr", Value: 0.1}}}
	b.start(tr, Slot{ID: 1})
	b.started(1, "run1")
	mustWrite(t, dir, "run1/out/metrics.jsonl", `{"step": 1, "acc": 0.5}`+"\n"+`{"step": 2, "acc": 0.625, "loss": 1.5, "note": "x"}`+"\n"+`{"step": 3, "ac`)
	assert.Equal(t, "trial 2 [cpu 1] train.lr=0.1 · 0s · step 2 acc=0.6250 loss=1.5000", b.lineOf(1), "line")
	b.end(Outcome{Trial: tr, Status: record.StatusFinished, RunID: "run1", Metrics: map[string]float64{"acc": 0.7}, Duration: 10 * time.Second})
	b.end(Outcome{Trial: Trial{Index: 0}, Status: record.StatusFailed})
	assert.Equal(t, "2/4 done · 0 running · 1 failed · ETA 10.0s · best acc=0.7000 (trial 2)", b.status(), "status")
	assert.Empty(t, b.lineOf(1), "an ended trial is still shown")
	assert.Empty(t, b.trialLines(), "an ended trial is still shown")
	assert.Empty(t, latestMetrics(filepath.Join(dir, "none")), "metrics from a missing file")
	os.WriteFile(filepath.Join(dir, "run1/out/metrics.jsonl"), []byte(strings.Repeat("x", 9000)+"\n"+`{"epoch": 7, "acc": 1}`+"\n"), 0o644)
	assert.Equal(t, "epoch 7 acc=1", latestMetrics(filepath.Join(dir, "run1/out/metrics.jsonl")), "after a long line")
}

func TestBestLineNamesTheMissingMetric(t *testing.T) {
	out := func(status record.Status, m map[string]float64) Outcome {
		return Outcome{Status: status, Metrics: m, RunID: "r"}
	}
	tests := []struct {
		name     string
		metric   string
		outcomes []Outcome
		want     string
	}{
		{"SameWordsOtherSpelling", "test_loss", []Outcome{
			out(record.StatusFinished, map[string]float64{"Loss/test": 2.3, "Loss/train": 2.2}),
			out(record.StatusFailed, map[string]float64{"test_loss": 9}),
		}, "best: no finished trial reported test_loss; they reported Loss/test, Loss/train: did you mean metric: Loss/test?"},
		{"OtherNames", "val_accuracy", []Outcome{out(record.StatusFinished, map[string]float64{"acc": 0.9})},
			"best: no finished trial reported val_accuracy; they reported acc: name one of those in the sweep's metric:"},
		{"NoMetricsAtAll", "val_accuracy", []Outcome{out(record.StatusFinished, nil)},
			"best: no finished trial reported val_accuracy; they reported no metric at all (see `go tool mage runs:show RUN` and docs/adopt.md for where metrics are read from)"},
		{"NoneFinished", "val_accuracy", []Outcome{out(record.StatusFailed, nil)}, "best: no finished trial reported val_accuracy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := &Spec{Metric: tc.metric, Goal: "minimize"}
			res := &Result{Spec: spec, Outcomes: tc.outcomes, Best: best(spec, tc.outcomes)}
			assert.Equal(t, tc.want, bestLine(res))
		})
	}
}

// TestReportEscapesControlCharacters: a metric name or value that holds
// terminal escapes reaches the sweep's tables escaped.
func TestReportEscapesControlCharacters(t *testing.T) {
	res := reportFixture()
	evil := "val\x1b[2J\x1b]0;pwned\x07"
	res.Spec.Metric = evil
	for i := range res.Outcomes {
		if m := res.Outcomes[i].Metrics; m != nil {
			m[evil] = m["val_accuracy"]
		}
		res.Outcomes[i].Trial.Values[1].Value = "opt\x1b[31m"
	}
	res.Best = best(res.Spec, res.Outcomes)
	var table, md bytes.Buffer
	WriteTable(&table, res)
	require.NoError(t, WriteMarkdown(&md, res))
	for _, out := range []string{table.String(), md.String()} {
		assert.NotContains(t, out, "\x1b")
		assert.NotContains(t, out, "\x07")
	}
	assert.Contains(t, table.String(), `VAL\x1b[2J`)
}
