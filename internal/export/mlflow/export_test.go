package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/reproduce"
)

// endedRuns is how many runs of the toy project have ended (all of them).
func endedRuns(t *testing.T, p *toyProject) int {
	t.Helper()
	sums, _, err := p.ledger.Summaries()
	require.NoError(t, err)
	return len(sums)
}

// TestExport exports the toy project into a fresh experiment; exports it
// again (nothing written), then after an eval and a reproduction (only
// their data written); cuts exports into other experiments off half-way
// and runs them again; loses answers on the way. At the end it reads every
// experiment back through MLflow's Python client (one process: it is the
// slow part) and checks that each holds every run once, with all of it.
func TestExport(t *testing.T) {
	srv, p := mlflowServer(t), project(t)
	ctx := context.Background()
	const prefix = "full/"
	verify := map[string]Level{prefix: ArtifactsAll}
	defer func() {
		var names []string
		for prefix := range verify {
			names = append(names, prefix+"toy")
		}
		sort.Strings(names)
		d := dump(t, srv, names...)
		for prefix, level := range verify {
			maxBytes := int64(DefaultMaxBytes)
			if level == ArtifactsAll {
				maxBytes = 1 << 20
			}
			t.Run("Verify"+strings.TrimSuffix(prefix, "/"), func(t *testing.T) { verifyExport(t, d, p, prefix, level, maxBytes) })
		}
	}()
	o := Options{Settings: settings(srv), Artifacts: ArtifactsAll, MaxBytes: 1 << 20, Prefix: prefix}
	rec := &recorder{}
	o.Transport = rec
	start := time.Now()
	res, err := Export(ctx, p.ledger, o)
	require.NoError(t, err)
	t.Logf("first export: %s in %s", res, time.Since(start).Round(time.Millisecond))
	runs := endedRuns(t, p)
	assert.Equal(t, runs+1, res.Created, "every run and the sweep's parent")
	assert.Equal(t, 1, res.Sweeps)
	assert.Zero(t, res.Updated+res.Unchanged+res.Failed)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "artifact out/big.bin (2.0 MiB) is over the 1.0 MiB cap (-artifactMiB): left out")
	for _, s := range rec.requests() {
		if s.Path == "mlflow/runs/log-batch" {
			var b batch
			require.NoError(t, json.Unmarshal(s.Body, &b))
			assert.LessOrEqual(t, len(b.Metrics), maxBatchMetrics)
		}
	}

	t.Run("AgainWritesNothing", func(t *testing.T) {
		rec := &recorder{}
		o.Transport = rec
		res, err := Export(ctx, p.ledger, o)
		require.NoError(t, err)
		assert.Equal(t, runs+1, res.Unchanged)
		assert.Zero(t, res.Created+res.Updated)
		assert.Empty(t, rec.writes(), "nothing resent")
		assert.Equal(t, []string{"GET mlflow/experiments/get-by-name", "POST mlflow/runs/search"}, requestNames(rec.requests()))
	})

	t.Run("EvalSendsOnlyItsData", func(t *testing.T) {
		require.NoError(t, p.eval(ctx, p.plain))
		rec := &recorder{}
		o.Transport = rec
		res, err := Export(ctx, p.ledger, o)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Updated)
		assert.Equal(t, runs, res.Unchanged)
		var metrics, params, tags []string
		var uploads []string
		for _, s := range rec.writes() {
			switch {
			case s.Path == "mlflow/runs/log-batch":
				var b batch
				require.NoError(t, json.Unmarshal(s.Body, &b))
				for _, m := range b.Metrics {
					metrics = append(metrics, m.Key)
				}
				for _, kv := range b.Params {
					params = append(params, kv.Key)
				}
				for _, kv := range b.Tags {
					tags = append(tags, kv.Key)
				}
			case s.Method == "PUT":
				_, rel, _ := strings.Cut(s.Path, "/artifacts/") // mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<file>
				_, rel, _ = strings.Cut(rel, "/artifacts/")
				uploads = append(uploads, rel)
			default:
				t.Errorf("unexpected write %s", s)
			}
		}
		assert.Equal(t, []string{"test_score"}, metrics, "only the metric the eval added")
		assert.Empty(t, params)
		assert.Equal(t, []string{TagMark}, tags)
		sort.Strings(uploads)
		assert.Equal(t, []string{"eval/metrics.json", "eval/params.json", "logs/eval.log", "run.json"}, uploads, "only the files the eval wrote or changed")
	})

	t.Run("ReproductionAddsAVerdict", func(t *testing.T) {
		rr, err := reproduce.Run(ctx, p.project(p.settings(0)), p.evaluated, reproduce.Options{})
		require.NoError(t, err, p.out.String())
		rec := &recorder{}
		o.Transport = rec
		res, err := Export(ctx, p.ledger, o)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Created, "the reproduction")
		assert.Equal(t, 1, res.Updated, "the run it reproduced, which gets the verdict")
		var tags []kv
		for _, s := range rec.writes() {
			var b batch
			if s.Path == "mlflow/runs/log-batch" && json.Unmarshal(s.Body, &b) == nil && len(b.Params) == 0 {
				tags = append(tags, b.Tags...)
			}
		}
		assert.Contains(t, tags, kv{TagVerdict, "reproduced"})
		assert.Contains(t, tags, kv{TagReproducedBy, rr.Run.ID})
	})

	for _, cut := range []int{3, 25, 60} {
		prefix := fmt.Sprintf("cut%d/", cut)
		verify[prefix] = ArtifactsMeta
		t.Run(fmt.Sprintf("CutAfter%dRequestsThenRunAgain", cut), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := Options{Settings: settings(srv), Prefix: prefix, Transport: &recorder{cutAfter: cut, cancel: cancel}}
			res, err := Export(ctx, p.ledger, o)
			require.ErrorIs(t, err, context.Canceled)
			assert.Less(t, res.Created, endedRuns(t, p)+1, "cut off before the end")

			o.Transport = nil
			res, err = Export(context.Background(), p.ledger, o)
			require.NoError(t, err)
			assert.Zero(t, res.Failed)
			t.Logf("after the cut: %s", res)
		})
	}

	t.Run("LostAnswers", func(t *testing.T) {
		const prefix = "lost/"
		verify[prefix] = ArtifactsMeta
		counts := map[string]int{}
		rec := &recorder{lose: func(n int, r seenRequest) bool {
			kind := r.Path
			if r.Method == "PUT" {
				kind = "PUT"
			}
			counts[kind]++
			return (kind == "mlflow/runs/create" && counts[kind] == 3) || (kind == "mlflow/runs/log-batch" && counts[kind] == 2) || (kind == "PUT" && counts[kind] == 1)
		}}
		res, err := Export(context.Background(), p.ledger, Options{Settings: settings(srv), Prefix: prefix, Transport: rec})
		require.NoError(t, err, "retried, and the lost create found by its tag")
		assert.Equal(t, endedRuns(t, p)+1, res.Created)
	})
}

func requestNames(reqs []seenRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.String())
	}
	return out
}

// TestExportServerDown: nothing listens at the address.
func TestExportServerDown(t *testing.T) {
	p := project(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = Export(context.Background(), p.ledger, Options{Settings: Settings{URI: "http://" + addr}})
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.EqualError(t, err, "MLflow tracking server http://"+addr+" is unreachable: connection refused ("+addr+") (is `mlflow server` running there? check -uri or MLFLOW_TRACKING_URI)")
	assert.Less(t, time.Since(start), 10*time.Second, "a few quick retries, then the error")
}

// TestExportCredentialsRefused: the basic-auth server refuses a wrong
// password, the error says what to set, and nothing is created.
func TestExportCredentialsRefused(t *testing.T) {
	srv, p := mlflowServer(t), project(t)
	s := settings(srv)
	s.Password = "wrong-password"
	_, err := Export(context.Background(), p.ledger, Options{Settings: s, Prefix: "refused/"})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.Status)
	assert.Contains(t, err.Error(), "You are not authenticated")
	assert.Contains(t, err.Error(), "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN")

	c, err := newClient(settings(srv), nil)
	require.NoError(t, err)
	e, err := c.experimentByName(context.Background(), "refused/toy")
	require.NoError(t, err)
	assert.Nil(t, e, "no experiment created")
}

// TestMLflowRefusesABatch: MLflow's own message comes through.
func TestMLflowRefusesABatch(t *testing.T) {
	srv := mlflowServer(t)
	ctx := context.Background()
	c, err := newClient(settings(srv), nil)
	require.NoError(t, err)
	id, err := c.createExperiment(ctx, fmt.Sprintf("refuses-%d", time.Now().UnixNano()))
	require.NoError(t, err)
	r, err := c.createRunOnce(ctx, id, "r", time.Now().UnixMilli(), nil)
	require.NoError(t, err)
	var b batch
	for i := range maxBatchParams + 1 {
		b.Params = append(b.Params, kv{Key: fmt.Sprintf("p%d", i), Value: "1"})
	}
	err = c.logBatch(ctx, r.Info.RunID, b)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.Status)
	assert.Equal(t, "INVALID_PARAMETER_VALUE", ae.Code)
	assert.Contains(t, err.Error(), "MLflow runs/log-batch: Bad Request 400 INVALID_PARAMETER_VALUE: ")
	assert.Contains(t, ae.Message, "101 params")
}

// TestWatch exports runs as they end.
func TestWatch(t *testing.T) {
	srv, p := mlflowServer(t), project(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan *Result, 16)
	done := make(chan error, 1)
	o := Options{Settings: settings(srv), Prefix: "watch/", Artifacts: ArtifactsNone}
	go func() {
		done <- Watch(ctx, p.ledger, o, 100*time.Millisecond, func(r *Result, err error) {
			assert.NoError(t, err)
			reports <- r
		})
	}()
	first := <-reports
	assert.Equal(t, endedRuns(t, p)+1, first.Created)

	r, err := p.train(ctx, "train.scale=5", p.settings(0))
	require.NoError(t, err)
	deadline := time.After(time.Minute)
	for created := 0; created == 0; {
		select {
		case res := <-reports:
			created = res.Created
		case <-deadline:
			t.Fatal("the new run was not exported within a minute")
		}
	}
	cancel()
	require.NoError(t, <-done, "a watch ended by its context is no error")

	c, err := newClient(settings(srv), nil)
	require.NoError(t, err)
	e, err := c.experimentByName(context.Background(), "watch/toy")
	require.NoError(t, err)
	found, err := c.searchRuns(context.Background(), e.ID, runFilter(r.ID))
	require.NoError(t, err)
	assert.Len(t, found, 1)
}

func TestAutoOn(t *testing.T) {
	root := t.TempDir()
	for rel, content := range map[string]string{"requirements.txt": "", "python/train.py": "", "python/evaluate.py": "",
		"experiments/toy.yaml": toyExperiment, "experiments/auto.yaml": toyExperiment + "export: {mlflow: auto}\n"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644))
	}
	exp, err := config.Load(root, "toy")
	require.NoError(t, err)
	on, note := Auto{Settings: Settings{URI: "http://h:5000"}}.On(exp)
	assert.False(t, on, "no export: block")
	assert.Empty(t, note)

	auto, err := config.Load(root, "auto")
	require.NoError(t, err)
	on, note = Auto{Settings: Settings{URI: "http://h:5000"}}.On(auto)
	assert.True(t, on)
	assert.Empty(t, note)
	on, note = Auto{}.On(auto)
	assert.False(t, on)
	assert.Equal(t, "auto.yaml asks for export: {mlflow: auto}, but MLFLOW_TRACKING_URI is not set: nothing is exported (set it, or run runs:export -to=mlflow -uri=URL later)", note)
}

// TestExportMarksLast: a run whose history takes two requests, cut off
// after the first, is on the server without its mark (so the next export
// does not take it for exported) and without its end; the next export
// sends the rest, once.
func TestExportMarksLast(t *testing.T) {
	srv := mlflowServer(t)
	l := ledger.Open(filepath.Join(t.TempDir(), "runs"))
	id, err := record.NewID()
	require.NoError(t, err)
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	end := start.Add(time.Minute)
	var lines strings.Builder
	for step := range 750 {
		fmt.Fprintf(&lines, "{\"step\": %d, \"loss\": %g, \"acc\": %g}\n", step, 1/float64(step+1), float64(step)/750)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(l.RunDir(id), "out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(l.RunDir(id), "out", "metrics.jsonl"), []byte(lines.String()), 0o644))
	r := &record.Run{ID: id, Experiment: "long", Status: record.StatusFinished, Started: start, Ended: &end, Metrics: map[string]float64{"loss": 1.0 / 750},
		Stages: []record.StageRecord{{Name: "train", Started: start, Ended: end}}}
	require.NoError(t, l.WriteRecord(r))
	code := 0
	require.NoError(t, l.Append(record.Event{Run: id, Type: record.EventRunStarted, Time: start, Experiment: "long"}))
	require.NoError(t, l.Append(record.Event{Run: id, Type: record.EventRunFinished, Time: end, Status: record.StatusFinished, ExitCode: &code}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{cancel: cancel}
	batches := 0
	rec.lose = func(n int, s seenRequest) bool {
		if s.Path == "mlflow/runs/log-batch" {
			if batches++; batches == 1 {
				rec.cutAfter = n + 1 // nothing after the first batch
			}
		}
		return false
	}
	o := Options{Settings: settings(srv), Prefix: fmt.Sprintf("long-%d/", time.Now().UnixNano()), Artifacts: ArtifactsNone, Transport: rec}
	_, err = Export(ctx, l, o)
	require.ErrorIs(t, err, context.Canceled)

	c, err := newClient(settings(srv), nil)
	require.NoError(t, err)
	e, err := c.experimentByName(context.Background(), o.Prefix+"long")
	require.NoError(t, err)
	runs, err := c.searchRuns(context.Background(), e.ID, runFilter(id))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Empty(t, tagValue(runs[0].Data.Tags, TagMark), "not marked exported: half of it is missing")
	assert.Equal(t, "RUNNING", runs[0].Info.Status)
	hist, err := c.metricHistory(context.Background(), runs[0].Info.RunID, "acc")
	require.NoError(t, err)
	assert.NotEmpty(t, hist, "the first request's metrics are there")
	assert.Less(t, len(hist), 750, "the second request's are not")

	o.Transport = nil
	res, err := Export(context.Background(), l, o)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	runs, err = c.searchRuns(context.Background(), e.ID, runFilter(id))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.NotEmpty(t, tagValue(runs[0].Data.Tags, TagMark))
	assert.Equal(t, "FINISHED", runs[0].Info.Status)
	assert.EqualValues(t, end.UnixMilli(), runs[0].Info.EndTime)
	for _, key := range []string{"acc", "loss"} {
		hist, err := c.metricHistory(context.Background(), runs[0].Info.RunID, key)
		require.NoError(t, err)
		steps := map[int64]int{}
		for _, m := range hist {
			steps[int64(m.Step)]++
		}
		assert.Len(t, steps, 750, key)
		for step, n := range steps {
			if n != 1 {
				t.Errorf("%s: step %d logged %d times", key, step, n)
			}
		}
	}
}
