package serve

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
)

func TestServeCmd(t *testing.T) {
	run := &record.Run{ID: "01a2-run", Experiment: "digits-sklearn", Git: &record.Git{SHA: "abc123", Dirty: true}}
	s := spec{Root: "/p", Python: "/p/.venv-serve/bin/python", Host: "127.0.0.1", Port: 3001, Run: run,
		Serve:    config.Serve{Service: "python/serve/service.py", Class: "DigitsClassifier", Model: "model.joblib"},
		ModelDir: "/p/runs/01a2-run/out", BaseEnv: []string{"PATH=/usr/bin", "HOME=/root", "BENTOML_DO_NOT_TRACK=false"}}
	path, args, env := serveCmd(s)
	if path != s.Python {
		t.Errorf("path = %s", path)
	}
	want := []string{"-m", "bentoml", "serve", "service:DigitsClassifier", "--working-dir", "/p/python/serve",
		"--host", "127.0.0.1", "--port", "3001", "--arg", "model_dir=/p/runs/01a2-run/out", "--arg", "run_id=01a2-run",
		"--arg", "experiment=digits-sklearn", "--arg", "git_sha=abc123", "--arg", "git_dirty=true"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args:\n got %q\nwant %q", args, want)
	}
	for _, kv := range []string{"PATH=/p/.venv-serve/bin:/usr/bin", "VIRTUAL_ENV=/p/.venv-serve", "BENTOML_HOME=/p/.magelab/bentoml",
		"BENTOML_DO_NOT_TRACK=false", "MAGELAB_RUN_ID=01a2-run", "MAGELAB_RUN_DIR=/p/runs/01a2-run", "HOME=/root"} {
		if !contains(env, kv) {
			t.Errorf("env lacks %s: %q", kv, env)
		}
	}
	if contains(env, "BENTOML_DO_NOT_TRACK=True") {
		t.Error("the user's BENTOML_DO_NOT_TRACK was overridden")
	}

	t.Run("NoGit", func(t *testing.T) {
		s.Run = &record.Run{ID: "x", Experiment: "e"}
		_, args, _ := serveCmd(s)
		if strings.Contains(strings.Join(args, " "), "git_sha") {
			t.Errorf("git args without a git record: %q", args)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
		if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := config.Load(root, "digits-sklearn")
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := &record.Run{ID: id, Experiment: experiment, ExperimentFile: "experiments/" + experiment + ".yaml", Status: record.StatusRunning, Started: now, Metrics: metrics}
	if err := p.Ledger.WriteRecord(r); err != nil {
		t.Fatal(err)
	}
	if err := p.Ledger.Append(record.Event{Type: record.EventRunStarted, Time: now, Run: id, Experiment: experiment}); err != nil {
		t.Fatal(err)
	}
	code := 0
	r.Finish(status, code, now)
	if err := p.Ledger.WriteRecord(r); err != nil {
		t.Fatal(err)
	}
	if err := p.Ledger.Append(record.Event{Type: record.EventRunFinished, Time: now, Run: id, Status: status, ExitCode: &code, Metrics: metrics}); err != nil {
		t.Fatal(err)
	}
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
		if err != nil || run.ID != ids[1] {
			t.Fatalf("serveRun = %v, %v; want the best run %s", run, err, ids[1])
		}
	})
	t.Run("NewestWithoutMetric", func(t *testing.T) {
		noSweep := *exp
		noSweep.Sweep = nil
		run, _, err := p.serveRun(&noSweep, "")
		if err != nil || run.ID != ids[2] {
			t.Fatalf("serveRun = %v, %v; want the newest run %s", run, err, ids[2])
		}
	})
	t.Run("MinimizeGoal", func(t *testing.T) {
		min := *exp
		min.Sweep = &config.Sweep{Metric: "val_accuracy", Goal: "minimize"}
		run, _, err := p.serveRun(&min, "")
		if err != nil || run.ID != ids[0] {
			t.Fatalf("serveRun = %v, %v; want the lowest run %s", run, err, ids[0])
		}
	})
	t.Run("ByShortIDTakesItsExperiment", func(t *testing.T) {
		run, e, err := p.serveRun(nil, ids[0][len(ids[0])-8:])
		if err != nil || run.ID != ids[0] || e == nil || e.Name != "digits-sklearn" {
			t.Fatalf("serveRun = %v, %v, %v", run, e, err)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	err = Run(ctx, p.Project, exp, Options{RunID: ids[0], Port: port})
	wantErr(t, err, "cannot serve on 127.0.0.1 port "+strconv.Itoa(port), "pick another port with -port=N")

	err = Run(ctx, p.Project, exp, Options{RunID: ids[0], Port: 70000})
	wantErr(t, err, "-port=70000: a port is a number from 1 to 65535")
	if _, err := os.Stat(filepath.Join(p.Root, ".venv")); err == nil {
		t.Error("a venv was built for a request that was refused")
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, s := range parts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

// fakeServer writes an executable that stands in for the venv's python.
func fakeServer(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
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
		if !strings.Contains(out.String(), "[serve] ImportError") {
			t.Errorf("the server's output is not shown with a prefix:\n%s", out.String())
		}
	})
	t.Run("StoppedByContextIsNoError", func(t *testing.T) {
		var out syncBuf
		p := &server{runner.NewProject(t.TempDir(), runner.Settings{}, &out)}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		if err := p.serve(ctx, mkSpec(fakeServer(t, `echo "$@"; exec sleep 30`))); err != nil {
			t.Fatalf("serve: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("stopping took %s", d)
		}
		mustHave(t, out.String(), "serve: run r1 of digits-sklearn (git unknown)", "[serve] -m bentoml serve service:DigitsClassifier", "serve: stopped")
	})
}

func mustHave(t *testing.T, out string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
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
