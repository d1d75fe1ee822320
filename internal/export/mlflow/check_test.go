package mlflow

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/export/mlflow/mlflowtest"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

// dumped is what MLflow's Python client reads back (mlflowtest/client.py
// dump): experiment name → its runs, nil when it does not exist.
type dumped map[string]*struct {
	ID   string      `json:"id"`
	Runs []dumpedRun `json:"runs"`
}

type dumpedRun struct {
	RunID     string                 `json:"run_id"`
	Name      string                 `json:"name"`
	Status    string                 `json:"status"`
	StartTime int64                  `json:"start_time"`
	EndTime   *int64                 `json:"end_time"`
	Lifecycle string                 `json:"lifecycle_stage"`
	Params    map[string]string      `json:"params"`
	Tags      map[string]string      `json:"tags"`
	Metrics   map[string]float64     `json:"metrics"`
	History   map[string][][]float64 `json:"history"` // [step, timestamp, value]
	Artifacts map[string]struct {
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"artifacts"`
}

// dump reads the experiments back through MLflow's Python client
// (search_runs, get_metric_history, list_artifacts, download_artifacts).
func dump(t *testing.T, srv *mlflowtest.Server, experiments ...string) dumped {
	t.Helper()
	start := time.Now()
	var d dumped
	require.NoError(t, srv.Client(context.Background(), &d, append([]string{"dump"}, experiments...)...))
	t.Logf("MlflowClient read %d experiment(s) in %s", len(experiments), time.Since(start).Round(100*time.Millisecond))
	return d
}

// wantStatus is MLflow's status of each magelab status, as the test
// expects it.
var wantStatus = map[record.Status]string{
	record.StatusFinished: "FINISHED", record.StatusFailed: "FAILED", record.StatusCrashed: "FAILED", record.StatusInterrupted: "KILLED",
}

// verifyExport checks that MLflow's experiment prefix+toy holds each
// ended run of the ledger exactly once, with all of it: times, status,
// params, tags, every metric with its steps, and its files byte for byte;
// and the sweep's parent run with its spec and best trial.
func verifyExport(t *testing.T, d dumped, p *toyProject, prefix string, level Level, maxBytes int64) {
	t.Helper()
	e := d[prefix+"toy"]
	require.NotNil(t, e, "experiment %stoy", prefix)
	byID := map[string][]dumpedRun{}
	for _, r := range e.Runs {
		assert.Equal(t, "active", r.Lifecycle)
		byID[r.Tags[TagRunID]] = append(byID[r.Tags[TagRunID]], r)
	}
	sums, _, err := p.ledger.Summaries()
	require.NoError(t, err)
	parent := byID[sweepRunID(p.sweepID)]
	require.Len(t, parent, 1, "the sweep's parent run, once")
	ended := 0
	mlflowIDs := map[string]string{}
	for _, s := range sums {
		if s.Status == record.StatusRunning {
			continue
		}
		ended++
		got := byID[s.ID]
		require.Len(t, got, 1, "run %s: one MLflow run", s.ID)
		mlflowIDs[s.ID] = got[0].RunID
		t.Run(record.ShortID(s.ID), func(t *testing.T) {
			r, raw, _, err := query.Record(p.ledger, s)
			require.NoError(t, err)
			verifyRun(t, got[0], r, raw, p, level, maxBytes, parent[0].RunID)
		})
	}
	assert.Len(t, e.Runs, ended+1, "no run twice, nothing else")
	verifySweep(t, parent[0], p, level, mlflowIDs)
}

func verifyRun(t *testing.T, got dumpedRun, r *record.Run, raw []byte, p *toyProject, level Level, maxBytes int64, parentID string) {
	dir := p.ledger.RunDir(r.ID)
	assert.Equal(t, wantStatus[r.Status], got.Status)
	assert.Equal(t, r.Started.UnixMilli(), got.StartTime)
	require.NotNil(t, got.EndTime)
	assert.Equal(t, r.Ended.UnixMilli(), *got.EndTime)
	assert.True(t, strings.HasPrefix(got.Name, record.ShortID(r.ID)), "name %q", got.Name)
	assert.Equal(t, wantParams(t, raw), got.Params)

	assert.Equal(t, string(r.Status), got.Tags[TagStatus])
	assert.Equal(t, got.Name, got.Tags["mlflow.runName"])
	assert.Equal(t, r.Git.SHA, got.Tags["mlflow.source.git.commit"])
	assert.Equal(t, r.Git.Branch, got.Tags["mlflow.source.git.branch"])
	if r.Reproduces == "" {
		assert.Equal(t, "main", got.Tags["mlflow.source.git.branch"])
	}
	assert.Equal(t, "https://example.com/lab/toy.git", got.Tags["mlflow.source.git.repoURL"], "credentials stay out")
	assert.Equal(t, strconv.FormatBool(r.ID == p.dirty), got.Tags[TagDirty])
	assert.True(t, strings.HasPrefix(got.Tags[TagMark], "v1 data="), "marked exported: %q", got.Tags[TagMark])
	if r.SweepID != "" {
		assert.Equal(t, r.SweepID, got.Tags[TagSweep])
		assert.Equal(t, parentID, got.Tags[tagParent])
	} else {
		assert.NotContains(t, got.Tags, tagParent)
	}
	if r.Reproduces != "" {
		assert.Equal(t, r.Reproduces, got.Tags[TagReproduces])
		assert.Equal(t, r.Verdict, got.Tags[TagVerdict])
	}

	for k, v := range r.Metrics {
		assert.Equal(t, v, got.Metrics[k], "latest %s", k)
	}
	want := wantHistory(t, dir, r)
	for k, points := range want {
		assert.Equal(t, points, stepsAndValues(got.History[k]), "history of %s", k)
	}
	for k := range got.History {
		assert.Contains(t, want, k, "a metric magelab did not record")
	}
	if r.ID == p.plain {
		assert.NotEmpty(t, got.History["system/gpu_1_utilization_percentage"], "GPU telemetry as MLflow's system metrics")
	}
	train, _ := r.Stage("train")
	for _, k := range []string{"loss", "acc", "system/gpu_0_power_usage_watts"} {
		for _, pt := range got.History[k] {
			ts := int64(pt[1])
			assert.True(t, ts >= r.Started.UnixMilli()-1000 && ts <= train.Ended.UnixMilli()+1000, "%s at step %v: time %d is outside the train stage [%d, %d]", k, pt[0], ts, r.Started.UnixMilli(), train.Ended.UnixMilli())
		}
	}

	files := wantFiles(t, dir, level, maxBytes)
	gotFiles := map[string]string{}
	for path, a := range got.Artifacts {
		gotFiles[path] = a.SHA256
	}
	assert.Equal(t, files, gotFiles, "artifacts, byte for byte")
}

// wantParams are run.json's params flattened with dotted keys, each as
// run.json spells it.
func wantParams(t *testing.T, raw []byte) map[string]string {
	var doc struct {
		Params map[string]json.RawMessage `json:"params"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	out := map[string]string{}
	var walk func(prefix string, m map[string]json.RawMessage)
	walk = func(prefix string, m map[string]json.RawMessage) {
		for k, v := range m {
			var sub map[string]json.RawMessage
			if json.Unmarshal(v, &sub) == nil {
				walk(prefix+k+".", sub)
				continue
			}
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[prefix+k] = s
				continue
			}
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, v))
			out[prefix+k] = compact.String()
		}
	}
	walk("", doc.Params)
	return out
}

// wantHistory is each metric's (step, value) in order: the lines of
// out/metrics.jsonl, then the final value when it differs from the last
// step's (at that step), or alone at step 0; and the GPU samples.
func wantHistory(t *testing.T, dir string, r *record.Run) map[string][][2]float64 {
	out := map[string][][2]float64{}
	if f, err := os.Open(filepath.Join(dir, "out", "metrics.jsonl")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var line map[string]float64
			require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
			for k, v := range line {
				if k != "step" {
					out[k] = append(out[k], [2]float64{line["step"], v})
				}
			}
		}
		f.Close()
	}
	for k, v := range r.Metrics {
		h := out[k]
		switch {
		case len(h) == 0:
			out[k] = [][2]float64{{0, v}}
		case h[len(h)-1][1] != v:
			out[k] = append(h, [2]float64{h[len(h)-1][0], v})
		}
	}
	if f, err := os.Open(filepath.Join(dir, "gpu.csv")); err == nil {
		samples, err := gpu.ReadSamples(f)
		f.Close()
		require.NoError(t, err)
		steps := map[int]int{}
		for _, s := range samples {
			prefix := "system/gpu_" + strconv.Itoa(s.Index) + "_"
			step := float64(steps[s.Index])
			steps[s.Index]++
			out[prefix+"utilization_percentage"] = append(out[prefix+"utilization_percentage"], [2]float64{step, *s.UtilPct})
			out[prefix+"memory_usage_megabytes"] = append(out[prefix+"memory_usage_megabytes"], [2]float64{step, *s.MemoryMiB * 1.048576})
			out[prefix+"power_usage_watts"] = append(out[prefix+"power_usage_watts"], [2]float64{step, *s.PowerW})
		}
	}
	return out
}

// stepsAndValues is a metric's history in MLflow's order (step, then
// time) as (step, value).
func stepsAndValues(h [][]float64) [][2]float64 {
	sort.SliceStable(h, func(i, j int) bool {
		if h[i][0] != h[j][0] {
			return h[i][0] < h[j][0]
		}
		return h[i][1] < h[j][1]
	})
	out := [][2]float64{}
	for _, p := range h {
		out = append(out, [2]float64{p[0], p[2]})
	}
	return out
}

// wantFiles are the run's files level exports (path → sha256): its
// record, logs, patch and untracked files; with ArtifactsAll everything
// up to maxBytes.
func wantFiles(t *testing.T, dir string, level Level, maxBytes int64) map[string]string {
	out := map[string]string{}
	if level == ArtifactsNone {
		return out
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		top, _, nested := strings.Cut(rel, "/")
		meta := (!nested && (rel == "run.json" || rel == "params.yaml" || rel == "git.patch" || rel == "pip-freeze.txt" || rel == "gpu.csv")) ||
			(nested && (top == "logs" || top == "untracked"))
		info, _ := d.Info()
		if (level == ArtifactsAll || meta) && info.Size() <= maxBytes {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	return out
}

// verifySweep checks the sweep's parent run: its spec as params, its best
// trial as tags and metric, sweep.json.
func verifySweep(t *testing.T, got dumpedRun, p *toyProject, level Level, mlflowIDs map[string]string) {
	t.Helper()
	events, err := query.SweepEvents(p.ledger, p.sweepID)
	require.NoError(t, err)
	fin := events[len(events)-1]
	require.Equal(t, record.EventSweepFinished, fin.Type)
	assert.Equal(t, "FINISHED", got.Status)
	assert.Equal(t, "sweep "+p.sweepID, got.Name)
	assert.Equal(t, p.sweepID, got.Tags[TagSweep])
	assert.Equal(t, fin.Best, got.Tags[TagBest])
	assert.Equal(t, mlflowIDs[fin.Best], got.Tags[TagBestMLflow])
	assert.Equal(t, "[1,2,3,4]", got.Params["sweep.parameters.train.scale"])
	assert.Equal(t, "score", got.Params["sweep.metric"])
	assert.Equal(t, "maximize", got.Params["sweep.goal"])
	assert.Equal(t, 40.0, got.Metrics["score"], "the best trial's score")
	if level != ArtifactsNone {
		assert.Contains(t, got.Artifacts, "sweep.json")
	}
}
