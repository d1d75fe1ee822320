// Package mlflowtest starts a real MLflow tracking server for the tests of
// the mlflow export and for bench/export: `mlflow server` from PyPI (the
// version pinned in requirements.txt) in its own venv under
// .cache/test-venv-mlflow, built once and reused while the requirements
// are unchanged, with a SQLite store, --serve-artifacts, a free loopback
// port and MLFLOW_DISABLE_TELEMETRY=true; optionally behind MLflow's own
// basic-auth app. Client runs MLflow's Python client (client.py) in the
// same venv, to read back what an export wrote.
package mlflowtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/venv"
)

//go:embed client.py
var clientScript []byte

// Requirements is the requirements file of the server's venv, relative to
// the repository root.
const Requirements = "internal/export/mlflow/mlflowtest/requirements.txt"

// The basic-auth server's admin, when Options.Auth is set.
const (
	Username = "admin"
	Password = "magelab-test-password"
)

// Venv is the MLflow venv of the repository at root.
func Venv(root string) venv.Venv {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	dir := os.Getenv("MAGELAB_MLFLOW_VENV")
	if dir == "" {
		dir = filepath.Join(root, ".cache", "test-venv-mlflow")
	}
	return venv.Venv{Dir: dir, Root: root, Requirements: []string{Requirements}}
}

// Options say how to start the server.
type Options struct {
	Root    string    // the repository root (for the venv and its requirements)
	Dir     string    // where the store, artifacts and log go
	Auth    bool      // run MLflow's basic-auth app (Username, Password)
	Workers int       // uvicorn workers; 0 is 1
	Out     io.Writer // the venv build's output; nil discards it
}

// Server is a running tracking server.
type Server struct {
	URL    string
	Python string // the venv's python
	Dir    string
	Auth   bool
	Log    string // the server's output
	p      *proc.Process
	env    []string
	once   sync.Once
}

// Start builds the venv if needed and starts the server, waiting until it
// answers /health.
func Start(ctx context.Context, o Options) (*Server, error) {
	v := Venv(o.Root)
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := ensure(ctx, v, out); err != nil {
		return nil, err
	}
	s := &Server{Python: v.Python(), Dir: o.Dir, Auth: o.Auth, Log: filepath.Join(o.Dir, "server.log")}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "client.py"), clientScript, 0o644); err != nil {
		return nil, err
	}
	if err := s.start(ctx, o); err != nil {
		return nil, err
	}
	return s, nil
}

// ensure builds the venv unless it is up to date. go test runs packages at
// once, and two of them (this package's tests, e2e) use the same venv:
// venv.Ensure's build lock makes one build it and the other wait. (A lock
// of its own here, on the same file, deadlocked: flock locks are per open
// file, so Ensure's second lock waited on this one.)
func ensure(ctx context.Context, v venv.Venv, out io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(v.Dir), 0o755); err != nil {
		return err
	}
	start := time.Now()
	ok, _, err := v.UpToDate()
	if err != nil || ok {
		return err
	}
	if _, err := v.Ensure(ctx, out); err != nil {
		return fmt.Errorf("mlflow venv: %w", err)
	}
	fmt.Fprintf(out, "mlflowtest: built %s in %s\n", v.Dir, time.Since(start).Round(time.Second))
	return nil
}

func (s *Server) start(ctx context.Context, o Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	workers := max(o.Workers, 1)
	args := []string{"-m", "mlflow", "server", "--backend-store-uri", "sqlite:///" + filepath.Join(s.Dir, "mlflow.db"),
		"--serve-artifacts", "--artifacts-destination", filepath.Join(s.Dir, "artifacts"),
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", strconv.Itoa(workers)}
	s.env = append(baseEnv(), "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	if o.Auth {
		ini := fmt.Sprintf("[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///%s\nadmin_username = %s\n"+
			"authorization_function = mlflow.server.auth:authenticate_request_basic_auth\ngrant_default_workspace_access = false\nauth_cache_ttl_seconds = 300\n",
			filepath.Join(s.Dir, "auth.db"), Username)
		cfg := filepath.Join(s.Dir, "auth.ini")
		if err := os.WriteFile(cfg, []byte(ini), 0o644); err != nil {
			return err
		}
		args = append(args, "--app-name", "basic-auth")
		s.env = append(s.env, "MLFLOW_AUTH_CONFIG_PATH="+cfg, "MLFLOW_AUTH_ADMIN_PASSWORD="+Password, "MLFLOW_FLASK_SERVER_SECRET_KEY=magelab-test")
	}
	logf, err := os.Create(s.Log)
	if err != nil {
		return err
	}
	s.p, err = proc.Start(proc.Command{Path: s.Python, Args: args, Env: s.env, Dir: s.Dir, Output: logf})
	if err != nil {
		logf.Close()
		return err
	}
	go func() { s.p.Wait(); logf.Close() }()
	return s.waitReady(ctx, 5*time.Minute)
}

// baseEnv is this process's environment without MLflow's and Python's
// settings, which would change what the server or the client does.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MLFLOW_") || strings.HasPrefix(k, "PYTHON") || k == "VIRTUAL_ENV" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// waitReady polls /health until the server answers, its process ends or
// the limit passes.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.p.Done():
			return fmt.Errorf("mlflow server exited before it was ready:\n%s", s.tail())
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("mlflow server not ready after %s:\n%s", limit, s.tail())
		}
	}
}

// tail is the end of the server's log.
func (s *Server) tail() string {
	b, _ := os.ReadFile(s.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop stops the server and its workers.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.p != nil {
			s.p.Stop(10 * time.Second)
			s.p.Wait()
		}
	})
}

// ClientEnv is the environment MLflow's Python client needs to reach the
// server.
func (s *Server) ClientEnv() []string {
	env := append(baseEnv(), "MLFLOW_TRACKING_URI="+s.URL, "MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	if s.Auth {
		env = append(env, "MLFLOW_TRACKING_USERNAME="+Username, "MLFLOW_TRACKING_PASSWORD="+Password)
	}
	return env
}

// Client runs client.py with args in the venv and decodes the JSON it
// prints last into out.
func (s *Server) Client(ctx context.Context, out any, args ...string) error {
	cmd := exec.CommandContext(ctx, s.Python, append([]string{filepath.Join(s.Dir, "client.py")}, args...)...)
	cmd.Env = s.ClientEnv()
	cmd.Dir = s.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("client.py %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), out); err != nil {
		return fmt.Errorf("client.py %s: %w\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return nil
}

// freePort is a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
