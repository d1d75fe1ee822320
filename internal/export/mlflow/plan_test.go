package mlflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

func TestParams(t *testing.T) {
	raw := []byte(`{"id": "r", "params": {"seed": 7, "train": {"lr": 3e-4, "epochs": 30, "ratio": 1.0, "name": "adam", "layers": [64, 32], "fast": true, "note": null, "opt": {"beta": 0.9}}, "empty": {}}}`)
	got, warnings := params(raw, &record.Run{})
	assert.Empty(t, warnings)
	assert.Equal(t, []kv{
		{"seed", "7"},
		{"train.epochs", "30"},
		{"train.fast", "true"},
		{"train.layers", "[64,32]"},
		{"train.lr", "3e-4"},
		{"train.name", "adam"},
		{"train.note", "null"},
		{"train.opt.beta", "0.9"},
		{"train.ratio", "1.0"},
	}, got, "flattened with dotted keys, sorted, numbers as run.json spells them")

	t.Run("WithoutRunJSONUsesTheRecord", func(t *testing.T) {
		got, _ := params(nil, &record.Run{Params: map[string]any{"train": map[string]any{"lr": 0.01, "epochs": float64(30)}}})
		assert.Equal(t, []kv{{"train.epochs", "30"}, {"train.lr", "0.01"}}, got)
	})
	t.Run("LongValueIsTruncatedWithAMarker", func(t *testing.T) {
		long := strings.Repeat("é", 7000)
		got, warnings := paramList(map[string]any{"vocab": long}, "")
		require.Len(t, got, 1)
		assert.Equal(t, maxParamLen, utf8.RuneCountInString(got[0].Value), "cut to MLflow's limit in characters")
		assert.True(t, strings.HasSuffix(got[0].Value, "…[truncated by magelab from 7000 characters]"))
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "param vocab is 7000 characters, over MLflow's limit of 6000: truncated")
	})
	t.Run("KeyMLflowRefusesIsLeftOut", func(t *testing.T) {
		got, warnings := paramList(map[string]any{"a//b": 1, strings.Repeat("k", 251): 2, "ok": 3}, "")
		assert.Equal(t, []kv{{"ok", "3"}}, got)
		assert.Len(t, warnings, 2)
	})
}

func TestBadKey(t *testing.T) {
	for key, bad := range map[string]bool{
		"val_accuracy": false, "train.lr": false, "system/gpu_0_utilization_percentage": false, "a b:c-d": false,
		"": true, "/abs": true, "a//b": true, "a/./b": true, "../up": true, "..": true, "dir/": true, strings.Repeat("x", 251): true,
	} {
		assert.Equal(t, bad, badKey(key) != "", "badKey(%q)", key)
	}
}

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

func TestBatches(t *testing.T) {
	mk := func(n int) []metric {
		out := make([]metric, n)
		for i := range out {
			out[i] = metric{Key: "loss", Value: flexFloat(i), Timestamp: 1, Step: flexInt(i)}
		}
		return out
	}
	kvs := func(n int, size int) []kv {
		out := make([]kv, n)
		for i := range out {
			out[i] = kv{Key: "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Value: strings.Repeat("v", size)}
		}
		return out
	}
	mark := &kv{Key: TagMark, Value: "v1 data=x files=y"}
	tests := []struct {
		name    string
		params  []kv
		tags    []kv
		metrics []metric
		last    *kv
		want    int
	}{
		{"NothingIsNoRequest", nil, nil, nil, nil, 0},
		{"OnlyTheMark", nil, nil, nil, mark, 1},
		{"MetricsPast1000", nil, nil, mk(2500), mark, 3},
		{"ParamsPast100", kvs(250, 10), nil, nil, nil, 3},
		{"TagsPast100", nil, kvs(101, 10), nil, nil, 2},
		{"EntitiesPast1000", kvs(100, 1), kvs(100, 1), mk(900), nil, 2},
		{"BytesPast1MB", kvs(100, 5900), kvs(100, 7900), nil, mark, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := batches(tt.params, tt.tags, tt.metrics, tt.last)
			require.Equal(t, tt.want, len(bs), "requests")
			var metrics []metric
			var params, tags []kv
			for _, b := range bs {
				assert.LessOrEqual(t, len(b.Metrics), maxBatchMetrics)
				assert.LessOrEqual(t, len(b.Params), maxBatchParams)
				assert.LessOrEqual(t, len(b.Tags), maxBatchTags)
				assert.LessOrEqual(t, b.entities(), maxBatchEntities)
				body, _ := json.Marshal(map[string]any{"run_id": strings.Repeat("r", 32), "metrics": b.Metrics, "params": b.Params, "tags": b.Tags})
				assert.LessOrEqual(t, len(body), maxBatchBytes)
				metrics, params, tags = append(metrics, b.Metrics...), append(params, b.Params...), append(tags, b.Tags...)
			}
			assert.Equal(t, len(tt.metrics), len(metrics))
			assert.Equal(t, tt.metrics, metrics[:len(tt.metrics):len(tt.metrics)], "metrics keep their order")
			assert.Len(t, params, len(tt.params))
			if tt.last != nil {
				lastBatch := bs[len(bs)-1]
				assert.Equal(t, *tt.last, lastBatch.Tags[len(lastBatch.Tags)-1], "the mark is the very last entity")
				assert.Len(t, tags, len(tt.tags)+1)
			}
		})
	}
}

func TestMark(t *testing.T) {
	tg := target{Status: "FINISHED", End: 5, Params: []kv{{"a", "1"}}, Metrics: []metric{{Key: "m", Value: 1, Step: 1}}, Files: []file{{Path: "run.json", Size: 3, Sum: "abc"}}}
	m := markOf(tg, nil)
	assert.Equal(t, m, parseMark(m.String()), "a mark reads back")
	assert.Equal(t, mark{}, parseMark(""))
	assert.Equal(t, mark{}, parseMark("v0 data=a files=b"))

	changed := tg
	changed.Metrics = append([]metric{}, tg.Metrics...)
	changed.Metrics = append(changed.Metrics, metric{Key: "test", Value: 2})
	assert.NotEqual(t, m.Data, markOf(changed, nil).Data, "a new metric changes the data half")
	assert.Equal(t, m.Files, markOf(changed, nil).Files)
	changed = tg
	changed.Files = []file{{Path: "run.json", Size: 3, Sum: "abd"}}
	assert.Equal(t, m.Data, markOf(changed, nil).Data)
	assert.NotEqual(t, m.Files, markOf(changed, nil).Files, "a changed file changes the files half")
	assert.NotEqual(t, m.Data, markOf(tg, []kv{{tagParent, "p"}}).Data, "the tags as sent count")
}

func TestArtifactPath(t *testing.T) {
	for uri, want := range map[string]string{
		"mlflow-artifacts:/1/abc/artifacts":                                       "1/abc/artifacts",
		"mlflow-artifacts://host:5000/1/abc/artifacts":                            "1/abc/artifacts",
		"http://host:5000/api/2.0/mlflow-artifacts/artifacts/exp/1/abc/artifacts": "exp/1/abc/artifacts",
	} {
		got, ok := artifactPath(uri)
		assert.True(t, ok, uri)
		assert.Equal(t, want, got, uri)
	}
	for _, uri := range []string{"s3://bucket/1/abc/artifacts", "/srv/mlruns/1/abc/artifacts", "file:///srv/mlruns/1"} {
		_, ok := artifactPath(uri)
		assert.False(t, ok, uri)
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]Level{"": ArtifactsMeta, "none": ArtifactsNone, "META": ArtifactsMeta, "all": ArtifactsAll} {
		got, err := ParseLevel(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseLevel("models")
	assert.EqualError(t, err, "-artifacts=models: want none, meta (the run's record, logs and patch; the default) or all (its outputs too)")
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	for rel, size := range map[string]int{"run.json": 10, "params.yaml": 5, "git.patch": 7, "logs/train.log": 3, "untracked/notes.txt": 2, "out/model.bin": 2000, "out/big.bin": 5000, "eval/metrics.json": 4} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(strings.Repeat("x", size)), 0o644))
	}
	paths := func(fs []file) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	none, _ := runFiles(dir, ArtifactsNone, 0)
	assert.Empty(t, none)
	meta, warnings := runFiles(dir, ArtifactsMeta, 0)
	assert.Empty(t, warnings)
	assert.Equal(t, []string{"git.patch", "logs/train.log", "params.yaml", "run.json", "untracked/notes.txt"}, paths(meta))
	all, warnings := runFiles(dir, ArtifactsAll, 4096)
	assert.Equal(t, []string{"eval/metrics.json", "git.patch", "logs/train.log", "out/model.bin", "params.yaml", "run.json", "untracked/notes.txt"}, paths(all))
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "artifact out/big.bin (0.0 MiB) is over the 0.0 MiB cap")
	for _, f := range all {
		assert.Equal(t, f.Path == "run.json", f.Changes, f.Path)
		assert.Len(t, f.Sum, 64, f.Path)
	}
	t.Run("LargeFileCountsByItsTime", func(t *testing.T) {
		big := filepath.Join(dir, "out", "big.bin")
		require.NoError(t, os.WriteFile(big, make([]byte, hashLimit+1), 0o644))
		all, _ := runFiles(dir, ArtifactsAll, 0)
		for _, f := range all {
			if f.Path == "out/big.bin" {
				assert.True(t, strings.HasPrefix(f.Sum, "mtime:"), f.Sum)
			}
		}
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

func FuzzParseMark(f *testing.F) {
	f.Add("v1 data=0123456789abcdef files=fedcba9876543210")
	f.Add("v1 data= files=")
	f.Add("v2 data=a files=b")
	f.Fuzz(func(t *testing.T, s string) {
		m := parseMark(s)
		if m != (mark{}) {
			assert.Equal(t, m, parseMark(m.String()), "a mark reads back as it was")
		}
	})
}
