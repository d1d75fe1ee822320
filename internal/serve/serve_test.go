package serve

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeCmd(t *testing.T) {
	run := &record.Run{ID: "01a2-run", Experiment: "digits-sklearn", Git: &record.Git{SHA: "abc123", Dirty: true}}
	s := spec{Root: "/p", Python: "/p/.venv-serve/bin/python", Host: "127.0.0.1", Port: 3001, Run: run,
		Serve:    config.Serve{Service: "python/serve/service.py", Class: "DigitsClassifier", Model: "model.joblib"},
		ModelDir: "/p/runs/01a2-run/out", BaseEnv: []string{"PATH=/usr/bin", "HOME=/root", "BENTOML_DO_NOT_TRACK=false"}}
	path, args, env := serveCmd(s)
	assert.Equal(t, s.Python, path, "path = %s", path)
	want := []string{"-m", "bentoml", "serve", "service:DigitsClassifier", "--working-dir", "/p/python/serve",
		"--host", "127.0.0.1", "--port", "3001", "--arg", "model_dir=/p/runs/01a2-run/out", "--arg", "run_id=01a2-run",
		"--arg", "experiment=digits-sklearn", "--arg", "git_sha=abc123", "--arg", "git_dirty=true"}
	assert.Equal(t, want, args, "args:\n got %q\nwant %q", args, want)
	for _, kv := range []string{"PATH=/p/.venv-serve/bin:/usr/bin", "VIRTUAL_ENV=/p/.venv-serve", "BENTOML_HOME=/p/.magelab/bentoml",
		"BENTOML_DO_NOT_TRACK=false", "MAGELAB_RUN_ID=01a2-run", "MAGELAB_RUN_DIR=/p/runs/01a2-run", "HOME=/root"} {
		assert.Contains(t, env, kv, "env lacks %s: %q", kv, env)
	}
	assert.NotContains(t, env, "BENTOML_DO_NOT_TRACK=True", "the user's BENTOML_DO_NOT_TRACK was overridden")

	t.Run("NoGit", func(t *testing.T) {
		s.Run = &record.Run{ID: "x", Experiment: "e"}
		_, args, _ := serveCmd(s)
		assert.NotContains(t, strings.Join(args, " "), "git_sha", "git args without a git record: %q", args)
	})
}

// serveProject is a project with an experiment digits-sklearn (sweep metric
// val_accuracy) and finished runs of it, oldest first.
func serveProject(t *testing.T, runs ...map[string]float64) (*server, *config.Experiment, []string) {
	t.Helper()
	root := t.TempDir()
	for rel, content := range map[string]string{
		"python/train.py":         "",
		"python/serve/service.py": "",
		"experiments/digits-sklearn.yaml": "name: digits-sklearn\nstages: {train: python/train.py}\nsweep: {metric: val_accuracy, goal: maximize, parameters: {seed: [1]}}\n" +
			"serve: {service: python/serve/service.py, class: DigitsClassifier, model: model.joblib}\n",
		"experiments/other.yaml": "name: other\nstages: {train: python/train.py}\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755)
		require.NoError(t, os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644))
	}
	exp, err := config.Load(root, "digits-sklearn")
	require.NoError(t, err)
	var out bytes.Buffer
	p := &server{runner.NewProject(root, runner.Settings{}, &out)}
	var ids []string
	for i, m := range runs {
		ids = append(ids, addRun(t, p, "digits-sklearn", record.StatusFinished, m, i%2 == 0))
	}
	return p, exp, ids
}

// addRun records a run of experiment with metrics; withModel writes its
// out/model.joblib.
func addRun(t *testing.T, p *server, experiment string, status record.Status, metrics map[string]float64, withModel bool) string {
	t.Helper()
	id, err := record.NewID()
	require.NoError(t, err)
	now := time.Now().UTC()
	r := &record.Run{ID: id, Experiment: experiment, ExperimentFile: "experiments/" + experiment + ".yaml", Status: record.StatusRunning, Started: now, Metrics: metrics}
	require.NoError(t, p.Ledger.WriteRecord(r))
	require.NoError(t, p.Ledger.Append(record.Event{Type: record.EventRunStarted, Time: now, Run: id, Experiment: experiment}))
	code := 0
	r.Finish(status, code, now)
	require.NoError(t, p.Ledger.WriteRecord(r))
	require.NoError(t, p.Ledger.Append(record.Event{Type: record.EventRunFinished, Time: now, Run: id, Status: status, ExitCode: &code, Metrics: metrics}))
	if withModel {
		dir := filepath.Join(p.Ledger.RunDir(id), "out")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "model.joblib"), []byte("model"), 0o644)
	}
	time.Sleep(2 * time.Millisecond) // distinct v7 timestamps: the order is the ledger's anyway
	return id
}

func TestServeRun(t *testing.T) {
	p, exp, ids := serveProject(t, map[string]float64{"val_accuracy": 0.95}, map[string]float64{"val_accuracy": 0.99}, map[string]float64{"val_accuracy": 0.97})

	t.Run("BestByMetric", func(t *testing.T) {
		run, _, err := p.serveRun(exp, "")
		require.NoError(t, err, "serveRun = %v, %v; want the best run %s", run, err, ids[1])
		require.Equal(t, ids[1], run.ID, "serveRun = %v, %v; want the best run %s", run, err, ids[1])
	})
	t.Run("NewestWithoutMetric", func(t *testing.T) {
		noSweep := *exp
		noSweep.Sweep = nil
		run, _, err := p.serveRun(&noSweep, "")
		require.NoError(t, err, "serveRun = %v, %v; want the newest run %s", run, err, ids[2])
		require.Equal(t, ids[2], run.ID, "serveRun = %v, %v; want the newest run %s", run, err, ids[2])
	})
	t.Run("MinimizeGoal", func(t *testing.T) {
		min := *exp
		min.Sweep = &config.Sweep{Metric: "val_accuracy", Goal: "minimize"}
		run, _, err := p.serveRun(&min, "")
		require.NoError(t, err, "serveRun = %v, %v; want the lowest run %s", run, err, ids[0])
		require.Equal(t, ids[0], run.ID, "serveRun = %v, %v; want the lowest run %s", run, err, ids[0])
	})
	t.Run("ByShortIDTakesItsExperiment", func(t *testing.T) {
		run, e, err := p.serveRun(nil, ids[0][len(ids[0])-8:])
		require.NoError(t, err, "serveRun = %v, %v, %v", run, e, err)
		require.Equal(t, ids[0], run.ID, "serveRun = %v, %v, %v", run, e, err)
		require.NotNil(t, e, "serveRun = %v, %v, %v", run, e, err)
		require.Equal(t, "digits-sklearn", e.Name, "serveRun = %v, %v, %v", run, e, err)
	})
	t.Run("OtherExperimentIsAnError", func(t *testing.T) {
		other := addRun(t, p, "other", record.StatusFinished, nil, true)
		_, _, err := p.serveRun(exp, other)
		wantErr(t, err, "is a run of experiment other, not digits-sklearn", "leave out -exp")
	})
	t.Run("FailedRunIsAnError", func(t *testing.T) {
		failed := addRun(t, p, "digits-sklearn", record.StatusFailed, nil, true)
		_, _, err := p.serveRun(exp, failed)
		wantErr(t, err, "is failed: only a finished run can be served")
	})
	t.Run("NoRunsIsAnError", func(t *testing.T) {
		p, exp, _ := serveProject(t)
		_, _, err := p.serveRun(exp, "")
		wantErr(t, err, "experiment digits-sklearn has no finished run to serve", "go tool mage train -exp=digits-sklearn")
	})
}

// TestServeRefusesBadInput: a run without model.joblib, a port in use and a
// port out of range fail before any venv is built or process started.
func TestServeRefusesBadInput(t *testing.T) {
	p, exp, ids := serveProject(t, map[string]float64{"val_accuracy": 0.9}, map[string]float64{"val_accuracy": 0.8})
	ctx := context.Background()
	err := Run(ctx, p.Project, exp, Options{RunID: ids[1], Port: 1})
	wantErr(t, err, "run "+ids[1]+" (experiment digits-sklearn) has no servable model", "model.joblib is missing", "go tool mage train -exp=digits-sklearn")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	err = Run(ctx, p.Project, exp, Options{RunID: ids[0], Port: port})
	wantErr(t, err, "cannot serve on 127.0.0.1 port "+strconv.Itoa(port), "pick another port with -port=N")

	err = Run(ctx, p.Project, exp, Options{RunID: ids[0], Port: 70000})
	wantErr(t, err, "-port=70000: a port is a number from 1 to 65535")
	_, err = os.Stat(filepath.Join(p.Root, ".venv"))
	assert.Error(t, err, "a venv was built for a request that was refused")
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	require.Error(t, err, "no error, want one with %q", parts)
	for _, s := range parts {
		assert.ErrorContains(t, err, s, "error %q lacks %q", err, s)
	}
}

// fakeServer writes an executable that stands in for the venv's python.
func fakeServer(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755))
	return path
}

func TestServeProcess(t *testing.T) {
	run := &record.Run{ID: "r1", Experiment: "digits-sklearn"}
	mkSpec := func(python string) spec {
		return spec{Root: t.TempDir(), Python: python, Host: "127.0.0.1", Port: 1, Run: run, ModelDir: "/m", BaseEnv: os.Environ(),
			Serve: config.Serve{Service: "python/serve/service.py", Class: "DigitsClassifier", Model: "model.joblib"}}
	}

	t.Run("ExitOnItsOwnIsAnError", func(t *testing.T) {
		var out bytes.Buffer
		p := &server{runner.NewProject(t.TempDir(), runner.Settings{}, &out)}
		err := p.serve(context.Background(), mkSpec(fakeServer(t, `echo "ImportError: no module named bentoml"; exit 3`)))
		wantErr(t, err, "the BentoML server exited with status 3 before it was stopped", "ImportError: no module named bentoml")
		assert.Contains(t, out.String(), "[serve] ImportError", "the server's output is not shown with a prefix:\n%s", out.String())
	})
	t.Run("StoppedByContextIsNoError", func(t *testing.T) {
		var out syncBuf
		p := &server{runner.NewProject(t.TempDir(), runner.Settings{}, &out)}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		err := p.serve(ctx, mkSpec(fakeServer(t, `echo "$@"; exec sleep 30`)))
		require.NoError(t, err, "serve: %v", err)
		d := time.Since(start)
		assert.LessOrEqual(t, d, 5*time.Second, "stopping took %s", d)
		mustHave(t, out.String(), "serve: run r1 of digits-sklearn (git unknown)", "[serve] -m bentoml serve service:DigitsClassifier", "serve: stopped")
	})
}

func mustHave(t *testing.T, out string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		assert.Contains(t, out, s, "output lacks %q:\n%s", s, out)
	}
}

// syncBuf is a bytes.Buffer safe for the concurrent writes of serve's
// goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
