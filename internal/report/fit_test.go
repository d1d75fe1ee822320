package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// twoExperiments is the listing a new user met: twelve runs of two
// experiments in one ledger whose params barely overlap, newest first, one
// of them a reproduction that drifted.
func twoExperiments() []record.Summary {
	t := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	git := &record.GitBrief{SHA: "89abcdef0123456789abcdef0123456789abcdef", Branch: "main"}
	var runs []record.Summary
	for i := range 6 {
		runs = append(runs, record.Summary{ID: fmt.Sprintf("019ce1a0-0000-7000-8000-%012d", 100+i), Experiment: "distilbert-sentiment",
			Status: record.StatusFinished, Started: t.Add(time.Duration(20+i) * time.Minute), Duration: 612.5 + float64(i), Git: git, GPU: "1x NVIDIA H200",
			Params: map[string]any{"seed": 42.0, "model.name": "distilbert-base-uncased-finetuned-sst-2-english", "train.lr": []float64{2e-5, 3e-5, 5e-5}[i%3],
				"train.batch_size": 32.0, "train.epochs": float64(1 + i/3), "data.max_length": 128.0, "data.dataset": "sst2-offline-sample"},
			Metrics: map[string]float64{"eval_accuracy": 0.88 + float64(i)/100, "eval_loss": 0.31 - float64(i)/100, "train_runtime_s": 590 + float64(i)}})
	}
	for i := range 6 {
		runs = append(runs, record.Summary{ID: fmt.Sprintf("019ce1a0-0000-7000-8000-%012d", 200+i), Experiment: "digits-mlp",
			Status: record.StatusFinished, Started: t.Add(time.Duration(i) * time.Minute), Duration: 12.25, Git: &record.GitBrief{SHA: git.SHA, Dirty: i%2 == 0},
			Params: map[string]any{"seed": 42.0, "train.lr": []float64{0.1, 0.01, 0.001}[i%3], "train.hidden": float64(int(64) << (i / 3)), "train.epochs": 30.0,
				"train.device": "auto", "data.test_size": 0.2, "eval.batch_size": 256.0},
			Metrics: map[string]float64{"val_accuracy": 0.9 + float64(i)/100, "val_loss": 0.2 - float64(i)/100, "test_accuracy": 0.91}})
	}
	runs[11].Status = record.StatusFailed
	runs[11].ExitCode = 3
	runs[10].Reproduces, runs[10].Verdict = runs[9].ID, "drifted"
	// newest first, as `runs` lists them
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func TestFittedTableGolden(t *testing.T) {
	for _, width := range []int{80, 160} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, WriteRuns(&b, twoExperiments(), FormatTable, FormatOptions{Location: time.UTC, Width: width}))
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				assert.LessOrEqual(t, utf8.RuneCountInString(line), width, "line wider than the terminal: %q", line)
			}
			recordtest.CheckGolden(t, fmt.Sprintf("runs-fit-%d.txt", width), b.Bytes())
		})
	}
}

func TestFittedTable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteRuns(&b, twoExperiments(), FormatTable, FormatOptions{Location: time.UTC, Width: 160}))
	out := b.String()
	t.Run("GroupedByExperiment", func(t *testing.T) {
		assert.Contains(t, out, "digits-mlp (6 runs)\n")
		assert.Contains(t, out, "distilbert-sentiment (6 runs)\n")
	})
	t.Run("ParamsThatDifferWithinEachExperiment", func(t *testing.T) {
		digits := out[strings.Index(out, "digits-mlp (6 runs)"):]
		head := strings.SplitN(digits, "\n", 3)[1]
		assert.Contains(t, head, "train.hidden")
		assert.NotContains(t, head, "model.name", "a param of the other experiment")
		assert.NotContains(t, head, "train.epochs", "the same in every digits run")
	})
	t.Run("ReproductionShowsItsRunAndVerdict", func(t *testing.T) {
		assert.Contains(t, out, "00000203 drifted")
	})
	t.Run("PipeUnchanged", func(t *testing.T) {
		var plain, zero bytes.Buffer
		require.NoError(t, WriteRuns(&plain, formatRuns(), FormatTable, utc))
		require.NoError(t, WriteRuns(&zero, formatRuns(), FormatTable, FormatOptions{Location: time.UTC, Width: 0}))
		assert.Equal(t, plain.String(), zero.String())
	})
	t.Run("ChosenColumns", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, WriteRuns(&b, twoExperiments(), FormatTable, FormatOptions{Location: time.UTC, Width: 80, Cols: []string{"id", "val_accuracy", "train.lr"}}))
		lines := strings.Split(b.String(), "\n")
		assert.Equal(t, "ID        val_accuracy  train.lr", lines[0])
		assert.Len(t, lines, 14, "one table, every run, no note")
		err := WriteRuns(&b, twoExperiments(), FormatTable, FormatOptions{Cols: []string{"id", "nope"}})
		require.ErrorContains(t, err, `no column "nope"`)
	})
	t.Run("NarrowKeepsIDAndStatus", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, WriteRuns(&b, twoExperiments(), FormatTable, FormatOptions{Location: time.UTC, Width: 20}))
		assert.Contains(t, b.String(), "ID        STATUS\n")
		assert.Contains(t, b.String(), "not shown: ")
	})
}
