package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveVenv builds (or reuses) the venv of python/requirements-serve.txt
// in .cache/test-venv-serve, kept between test runs like the shared one.
func serveVenv(t *testing.T) string {
	t.Helper()
	v := venv.Venv{Dir: filepath.Join(repoRoot, ".cache", "test-venv-serve"), Root: repoRoot, Requirements: []string{"python/requirements-serve.txt"}}
	_, err := v.Ensure(context.Background(), os.Stderr)
	require.NoError(t, err)
	return v.Dir
}

// TestServeSklearn trains the digits-sklearn experiment in a git repository,
// serves its run with `serve` on a free port, checks that the predictions
// of real test rows equal the model's own, that a malformed request is a
// 400 with a message and that the service names its run; then Ctrl-C stops
// it with nothing left running and the port free again.
func TestServeSklearn(t *testing.T) {
	p := newProject(t)
	p.venv = serveVenv(t)
	gitCommit(t, p.dir)
	r := p.mustMage("train", "-exp=digits-sklearn")
	mustContain(t, r.out, "[train] fitted svc")
	run := p.onlyNewRun()
	require.GreaterOrEqual(t, run.Metrics["val_accuracy"], 0.95, "run %s: metrics %v, git %+v", run.ID, run.Metrics, run.Git)
	require.NotNil(t, run.Git, "run %s: metrics %v, git %+v", run.ID, run.Metrics, run.Git)
	require.NotEmpty(t, run.Git.SHA, "run %s: metrics %v, git %+v", run.ID, run.Metrics, run.Git)
	sample := p.read("runs/" + run.ID + "/out/sample_request.json")
	var req struct {
		Inputs [][]float64 `json:"inputs"`
		Labels []int       `json:"labels"`
	}
	err := json.Unmarshal([]byte(sample), &req)
	require.NoError(t, err, "sample_request.json: %v\n%s", err, sample)
	require.Len(t, req.Inputs, 8, "sample_request.json: %v\n%s", err, sample)
	require.Len(t, req.Inputs[0], 64, "sample_request.json: %v\n%s", err, sample)
	own := modelPredictions(t, p, run.ID)

	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := p.command(magelabBin, "serve", "-port="+strconv.Itoa(port))
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	waitReady(t, base+"/readyz", exited, &out)
	t.Logf("serve: ready after %s", time.Since(start).Round(100*time.Millisecond))

	t.Run("PredictMatchesModel", func(t *testing.T) {
		code, body := post(t, base+"/predict", sample)
		var resp struct {
			Predictions []int  `json:"predictions"`
			RunID       string `json:"run_id"`
			GitSHA      string `json:"git_sha"`
		}
		err := json.Unmarshal(body, &resp)
		require.Equal(t, 200, code, "POST /predict: %d %s (%v)", code, body, err)
		require.NoError(t, err, "POST /predict: %d %s (%v)", code, body, err)
		assert.Equal(t, own, resp.Predictions, "served predictions %v, the model's own %v", resp.Predictions, own)
		assert.Equal(t, run.ID, resp.RunID, "served run %s at %s, want %s at %s", resp.RunID, resp.GitSHA, run.ID, run.Git.SHA)
		assert.Equal(t, run.Git.SHA, resp.GitSHA, "served run %s at %s, want %s at %s", resp.RunID, resp.GitSHA, run.ID, run.Git.SHA)
		correct := 0
		for i, c := range resp.Predictions {
			if c == req.Labels[i] {
				correct++
			}
		}
		assert.GreaterOrEqual(t, correct, 6, "%d of 8 test rows right: %v vs labels %v", correct, resp.Predictions, req.Labels)
	})
	t.Run("InfoNamesTheRun", func(t *testing.T) {
		code, body := post(t, base+"/info", "{}")
		var info map[string]any
		err := json.Unmarshal(body, &info)
		require.Equal(t, 200, code, "POST /info: %d %s", code, body)
		require.NoError(t, err, "POST /info: %d %s", code, body)
		assert.Equal(t, run.ID, info["run_id"], "/info: %s", body)
		assert.Equal(t, run.Git.SHA, info["git_sha"], "/info: %s", body)
		assert.Equal(t, "digits-sklearn", info["experiment"], "/info: %s", body)
		code, body = get(t, base+"/healthz")
		assert.Equal(t, 200, code, "GET /healthz: %d %s", code, body)
	})
	t.Run("MalformedIs4xx", func(t *testing.T) {
		for _, tc := range []struct{ body, want string }{
			{`{"inputs": [[1, 2, 3]]}`, "has 3 values, want 64"},
			{`{"inputs": []}`, "inputs is empty"},
			{`{"rows": [[1]]}`, "inputs"},
			{`{"inputs": [["a"]]}`, "inputs"},
			{`not json`, "JSON"},
		} {
			code, body := post(t, base+"/predict", tc.body)
			assert.GreaterOrEqual(t, code, 400, "POST /predict %s: %d %s; want a 4xx that says %q", tc.body, code, body, tc.want)
			assert.LessOrEqual(t, code, 499, "POST /predict %s: %d %s; want a 4xx that says %q", tc.body, code, body, tc.want)
			assert.Contains(t, string(body), tc.want, "POST /predict %s: %d %s; want a 4xx that says %q", tc.body, code, body, tc.want)
		}
	})
	t.Run("Latency", func(t *testing.T) {
		one := fmt.Sprintf(`{"inputs": [%s]}`, mustJSON(t, req.Inputs[0]))
		var times []time.Duration
		for i := 0; i < 50; i++ {
			s := time.Now()
			code, body := post(t, base+"/predict", one)
			require.Equal(t, 200, code, "POST /predict: %d %s", code, body)
			times = append(times, time.Since(s))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("POST /predict, one row, 50 sequential requests: median %s, p90 %s", times[25].Round(10*time.Microsecond), times[45].Round(10*time.Microsecond))
	})

	procs := proc.Descendants(cmd.Process.Pid)
	assert.GreaterOrEqual(t, len(procs), 2, "serve runs %d processes under magelab, want BentoML's server and worker: %v", len(procs), procs)
	stopAt := time.Now()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // Ctrl-C reaches magelab's foreground group
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		require.FailNow(t, fmt.Sprintf("serve still running 15s after SIGINT:\n%s", out.String()))
	}
	t.Logf("serve: stopped %s after SIGINT", time.Since(stopAt).Round(100*time.Millisecond))
	code := cmd.ProcessState.ExitCode()
	assert.Equal(t, 0, code, "serve exited %d after Ctrl-C, want 0:\n%s", code, out.String())
	mustContain(t, out.String(), "serve: run "+run.ID+" of digits-sklearn (git "+run.Git.SHA, "serve: ready at "+base, "serve: stopped")
	for _, proc := range procs {
		waitGone(t, proc.PID)
	}
	if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); assert.NoError(t, err, "port %d still taken after serve stopped: %v", port, err) {
		l.Close()
	}

	t.Run("NoModelIsAnError", func(t *testing.T) {
		os.Remove(filepath.Join(p.dir, "runs", run.ID, "out", "model.joblib"))
		r := p.mage("serve", "-run="+run.ID[len(run.ID)-8:], "-port="+strconv.Itoa(port))
		require.Equal(t, 1, r.code, "exit %d, want 1:\n%s", r.code, r.out)
		mustContain(t, r.out, "run "+run.ID+" (experiment digits-sklearn) has no servable model", "model.joblib is missing")
	})
}

// modelPredictions loads the run's model.joblib in the serve venv and
// predicts the rows of its sample_request.json.
func modelPredictions(t *testing.T, p *project, id string) []int {
	t.Helper()
	code := `import json, sys, joblib
req = json.load(open(sys.argv[2]))
print(json.dumps([int(c) for c in joblib.load(sys.argv[1]).predict(req["inputs"])]))`
	out := filepath.Join(p.dir, "runs", id, "out")
	b, err := exec.Command(filepath.Join(p.venv, "bin", "python"), "-c", code, filepath.Join(out, "model.joblib"), filepath.Join(out, "sample_request.json")).Output()
	require.NoError(t, err, "predict with the model: %v", err)
	var preds []int
	err = json.Unmarshal(b, &preds)
	require.NoError(t, err, "predictions %q: %v", b, err)
	return preds
}

func gitCommit(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "initial"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %v\n%s", args, err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls url until it answers 200; the server exiting or 120 s
// passing fails the test.
func waitReady(t *testing.T, url string, exited <-chan error, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			require.FailNow(t, fmt.Sprintf("serve exited before it was ready (%v):\n%s", err, out.String()))
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.FailNow(t, fmt.Sprintf("%s not ready after 120s:\n%s", url, out.String()))
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	require.NoError(t, err, "POST %s: %v", url, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err, "GET %s: %v", url, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// syncBuffer is a bytes.Buffer that a running command writes to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
