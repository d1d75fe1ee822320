package mlflow

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

func TestRunMetrics(t *testing.T) {
	dir := t.TempDir()
	start := time.UnixMilli(1_700_000_000_000).UTC()
	trainEnd, evalEnd := start.Add(10*time.Second), start.Add(20*time.Second)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "eval"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out", "metrics.jsonl"), []byte("{\"step\": 1, \"loss\": 0.9, \"acc\": 0.5}\n{\"step\": 2, \"loss\": 0.4, \"acc\": 0.7}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "eval", "metrics.json"), []byte(`{"test_acc": 0.66}`), 0o644))
	r := &record.Run{ID: "r", Started: start, Ended: &evalEnd, Status: record.StatusFinished,
		Stages:  []record.StageRecord{{Name: "train", Started: start, Ended: trainEnd}, {Name: "eval", Started: trainEnd, Ended: evalEnd}},
		Metrics: map[string]float64{"loss": 0.4, "acc": 0.75, "score": 3, "test_acc": 0.66}}
	got, warnings := runMetrics(r, dir)
	assert.Empty(t, warnings)
	ms := func(t time.Time) flexInt { return flexInt(t.UnixMilli()) }
	assert.Equal(t, []metric{
		{Key: "acc", Value: 0.5, Timestamp: ms(start), Step: 1}, {Key: "loss", Value: 0.9, Timestamp: ms(start), Step: 1},
		{Key: "acc", Value: 0.7, Timestamp: ms(start.Add(5 * time.Second)), Step: 2}, {Key: "loss", Value: 0.4, Timestamp: ms(start.Add(5 * time.Second)), Step: 2},
		{Key: "acc", Value: 0.75, Timestamp: ms(trainEnd), Step: 2},     // differs from its last step: logged at that step, at the stage's end
		{Key: "score", Value: 3, Timestamp: ms(trainEnd), Step: 0},      // no history: step 0
		{Key: "test_acc", Value: 0.66, Timestamp: ms(evalEnd), Step: 0}, // eval's: at eval's end
	}, got, "loss equals its last step and is not logged twice")
}

func TestRunTags(t *testing.T) {
	end := time.Now()
	r := &record.Run{ID: "0192-run", Experiment: "toy", ExperimentFile: "experiments/toy.yaml", SweepID: "abc123", Status: record.StatusFailed, ExitCode: 2, Error: "stage train failed",
		Ended: &end, Process: record.Process{Host: "box"},
		Git: &record.Git{SHA: "f00d", Branch: "main", Remote: "https://user:secret@example.com/lab/toy.git", Dirty: true, Untracked: []record.UntrackedFile{{Path: "notes.txt"}}},
		GPU: &record.GPU{Devices: []record.GPUDevice{{Name: "NVIDIA H200"}, {Name: "NVIDIA H200"}}}}
	tags, _ := runTags(r, &reproduction{RunID: "0193-repro", Verdict: "drifted"})
	m := map[string]string{}
	for _, tg := range tags {
		m[tg.Key] = tg.Value
	}
	assert.Equal(t, map[string]string{
		"magelab.run_id": "0192-run", "magelab.status": "failed", "magelab.exit_code": "2", "magelab.error": "stage train failed",
		"mlflow.source.name": "experiments/toy.yaml", "mlflow.source.git.commit": "f00d", "mlflow.source.git.branch": "main",
		"mlflow.source.git.repoURL": "https://example.com/lab/toy.git", "magelab.dirty": "true", "magelab.untracked_files": "1",
		"magelab.sweep": "abc123", "magelab.verdict": "drifted", "magelab.reproduced_by": "0193-repro",
		"magelab.host": "box", "magelab.gpu": "2x NVIDIA H200",
	}, m)
	assert.Equal(t, "FAILED", mlflowStatus(record.StatusCrashed))
	assert.Equal(t, "KILLED", mlflowStatus(record.StatusInterrupted))
	assert.Equal(t, "FINISHED", mlflowStatus(record.StatusFinished))
}
