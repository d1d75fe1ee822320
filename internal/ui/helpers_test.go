package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// synthRun is one run of a synthetic ledger.
type synthRun struct {
	id      string
	exp     string
	sweep   string
	status  record.Status
	params  map[string]any
	metrics map[string]float64
	started time.Time
	series  string // out/metrics.jsonl, as written
}

// synthLedger writes runs (oldest first) into a ledger under a temporary
// directory, with run.json and the files each names, the way the runner
// lays them out.
func synthLedger(t testing.TB, runs []synthRun) *ledger.Ledger {
	t.Helper()
	l := ledger.Open(filepath.Join(t.TempDir(), "runs"))
	for _, r := range runs {
		exit := 0
		if r.status == record.StatusFailed {
			exit = 3
		}
		git := &record.GitBrief{SHA: "0123456789abcdef0123456789abcdef01234567", Branch: "main", Dirty: true}
		require.NoError(t, l.Append(record.Event{Run: r.id, Type: record.EventRunStarted, Time: r.started, Experiment: r.exp, SweepID: r.sweep, Params: r.params, Git: git, Host: "h", PID: 1}))
		if r.status != record.StatusRunning {
			require.NoError(t, l.Append(record.Event{Run: r.id, Type: record.EventRunFinished, Time: r.started.Add(time.Minute), Status: r.status, ExitCode: &exit, Duration: 60, Metrics: r.metrics}))
		}
		dir := l.RunDir(r.id)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
		rec := record.Run{ID: r.id, Experiment: r.exp, SweepID: r.sweep, Status: r.status, ExitCode: exit, Started: r.started, Params: r.params, Metrics: r.metrics,
			Git: &record.Git{SHA: git.SHA, Branch: "main", Dirty: true, Patch: "git.patch"}, Process: record.Process{Host: "h", PID: 1}}
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "git.patch"), []byte("diff --git a/x b/x\n+<script>alert(1)</script>\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "logs", "train.log"), []byte("line 1\nline 2\nline 3\n"), 0o644))
		if r.series != "" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "out", "metrics.jsonl"), []byte(r.series), 0o644))
		}
	}
	return l
}

// runID is a synthetic UUIDv7-shaped id whose end is i.
func runID(i int) string { return fmt.Sprintf("019ce1a2-3b4c-7d5e-8f60-%012d", i) }

// sixRuns is a ledger of two experiments: four runs of a sweep of "mlp"
// (lr × hidden), one failed, one running run of "cnn" whose note holds
// markup.
func sixRuns(t testing.TB) *ledger.Ledger {
	t0 := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	var runs []synthRun
	for i, p := range []struct{ lr, hidden, acc float64 }{{0.1, 64, 0.91}, {0.01, 64, 0.95}, {0.1, 128, 0.93}, {0.01, 128, 0.97}} {
		runs = append(runs, synthRun{id: runID(i + 1), exp: "mlp", sweep: "5e1f0c3a9b2d", status: record.StatusFinished, started: t0.Add(time.Duration(i) * time.Minute),
			params:  map[string]any{"train.lr": p.lr, "train.hidden": p.hidden, "seed": 42.0},
			metrics: map[string]float64{"val_accuracy": p.acc, "val_loss": 1 - p.acc},
			series:  fmt.Sprintf("{\"step\": 0, \"loss\": 2.0}\n{\"step\": 1, \"loss\": %g}\n", 1-p.acc)})
	}
	runs = append(runs,
		synthRun{id: runID(5), exp: "mlp", status: record.StatusFailed, started: t0.Add(5 * time.Minute), params: map[string]any{"train.lr": 1.0, "train.hidden": 64.0, "seed": 42.0}},
		synthRun{id: runID(6), exp: "cnn", status: record.StatusRunning, started: t0.Add(6 * time.Minute),
			params: map[string]any{"train.note": "<img src=x onerror=alert(1)>", "seed": 1.0}, series: "{\"step\": 0, \"loss\": 3}\n"})
	l := synthLedger(t, runs)
	require.NoError(t, l.Append(record.Event{Type: record.EventSweepStarted, Time: t0, SweepID: "5e1f0c3a9b2d", Experiment: "mlp",
		Spec: map[string]any{"method": "grid", "metric": "val_accuracy", "goal": "maximize", "trials": 4.0,
			"parameters": map[string]any{"train.lr": []any{0.1, 0.01}, "train.hidden": []any{64.0, 128.0}}}}))
	return l
}

// get calls the handler and returns the status and body.
func get(t testing.TB, h http.Handler, target string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1:8080"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b), rec.Result().Header
}

// getJSON calls the handler, wants status, and decodes the body into v.
func getJSON(t testing.TB, h http.Handler, target string, status int, v any) {
	t.Helper()
	code, body, _ := get(t, h, target)
	require.Equal(t, status, code, "GET %s: %s", target, body)
	require.NoError(t, json.Unmarshal([]byte(body), v), "GET %s: %s", target, body)
}

// apiError is the body of an error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func ids(runs []apiRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = strings.TrimPrefix(r.ID, "019ce1a2-3b4c-7d5e-8f60-00000000000")
	}
	return out
}
