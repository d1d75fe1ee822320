package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
)

// What `serve` runs: BentoML's server on the service in python/serve, which
// loads a run's out/model.joblib (python/digits/sklearn_model.py).
const (
	DefaultServeHost = "127.0.0.1"
	DefaultServePort = 3000
	ServeModelFile   = "model.joblib"
	serveDir         = "python/serve"
	serveService     = "service:DigitsClassifier"
)

// ServeOptions pick the run to serve and the address.
type ServeOptions struct {
	// RunID is a full or short run id; empty means the best finished run
	// of the experiment by its sweep metric (sweep.metric, sweep.goal), or
	// the newest when the experiment names no metric.
	RunID string
	Host  string // "" means DefaultServeHost
	Port  int    // 0 means DefaultServePort
}

// serveSpec is everything the server's command line needs.
type serveSpec struct {
	Root, Python, Host string
	Port               int
	Run                *record.Run
	ModelDir           string
	BaseEnv            []string
}

// Serve serves a finished run's model with BentoML on opts' address until
// ctx is done (Ctrl-C), then stops the server and every process it started.
// exp is the experiment whose runs are candidates and whose venv serves;
// nil takes the experiment the run (opts.RunID) was recorded with. A server
// stopped by ctx is no error; one that exits on its own is.
func (p *Project) Serve(ctx context.Context, exp *config.Experiment, opts ServeOptions) error {
	run, exp, err := p.serveRun(exp, opts.RunID)
	if err != nil {
		return err
	}
	spec := serveSpec{Root: p.Root, Host: opts.Host, Port: opts.Port, Run: run,
		ModelDir: filepath.Join(p.Ledger.RunDir(run.ID), "out"), BaseEnv: os.Environ()}
	if spec.Host == "" {
		spec.Host = DefaultServeHost
	}
	if spec.Port == 0 {
		spec.Port = DefaultServePort
	}
	if err := servable(run, spec.ModelDir); err != nil {
		return err
	}
	if err := portFree(spec.Host, spec.Port); err != nil {
		return err
	}
	v := p.Venv(exp)
	hash, err := v.Ensure(ctx, p.Out)
	if err != nil {
		return err
	}
	if run.Env.RequirementsHash != "" && hash != run.Env.RequirementsHash {
		p.warn(fmt.Sprintf("the requirements of %s changed since run %s was trained: its model may not load; train it again if it fails", exp.Name, run.ID))
	}
	spec.Python = v.Python()
	return p.serve(ctx, spec)
}

// serveRun resolves the run to serve and its experiment.
func (p *Project) serveRun(exp *config.Experiment, id string) (*record.Run, *config.Experiment, error) {
	if id == "" && exp == nil {
		return nil, nil, fmt.Errorf("serve: name an experiment (-exp=NAME) or a run (-run=ID)")
	}
	if id == "" {
		s, err := p.bestRun(exp)
		if err != nil {
			return nil, nil, err
		}
		run, err := p.Ledger.ReadRecord(s.ID)
		return run, exp, err
	}
	runs, warnings, err := query.Find(p.Ledger, id)
	p.warn(warnings...)
	if err != nil {
		return nil, nil, err
	}
	if s := runs[0]; s.Status != record.StatusFinished {
		return nil, nil, fmt.Errorf("run %s is %s: only a finished run can be served", s.ID, s.Status)
	}
	run, err := p.Ledger.ReadRecord(runs[0].ID)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case exp == nil:
		name := run.ExperimentFile
		if name == "" {
			name = run.Experiment
		}
		if exp, err = config.Load(p.Root, name); err != nil {
			return nil, nil, fmt.Errorf("run %s: load its experiment: %w (pass -exp=NAME to serve it with another experiment's venv)", run.ID, err)
		}
	case run.Experiment != exp.Name:
		return nil, nil, fmt.Errorf("run %s is a run of experiment %s, not %s: leave out -exp, or pass the experiment it was trained with", run.ID, run.Experiment, exp.Name)
	}
	return run, exp, nil
}

// bestRun is the finished run of exp that is best by the experiment's sweep
// metric, else the newest.
func (p *Project) bestRun(exp *config.Experiment) (record.Summary, error) {
	where, _ := query.ParseWhere("status=finished")
	q := query.Query{Experiment: exp.Name, Where: where, Limit: 1}
	metric, goal := sweepMetric(exp)
	if metric != "" {
		q.Sort = "-" + metric
		if goal == "minimize" {
			q.Sort = metric
		}
	}
	runs, warnings, err := query.List(p.Ledger, q)
	p.warn(warnings...)
	if err != nil {
		return record.Summary{}, err
	}
	if len(runs) == 0 {
		return record.Summary{}, fmt.Errorf("experiment %s has no finished run to serve: train one first (go tool mage train -exp=%s), or pass -run=ID", exp.Name, expArg(exp))
	}
	if v, ok := runs[0].Metrics[metric]; ok {
		fmt.Fprintf(p.Out, "serve: run %s has the best %s (%.4g) of %s's finished runs\n", runs[0].ID, metric, v, exp.Name)
	} else {
		fmt.Fprintf(p.Out, "serve: run %s is %s's newest finished run\n", runs[0].ID, exp.Name)
	}
	return runs[0], nil
}

// sweepMetric reads the metric and goal of exp's sweep block, if any.
func sweepMetric(exp *config.Experiment) (metric, goal string) {
	metric, _ = exp.Sweep["metric"].(string)
	goal, _ = exp.Sweep["goal"].(string)
	return metric, goal
}

// expArg is how -exp names exp on the command line.
func expArg(exp *config.Experiment) string {
	base := filepath.Base(exp.File)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// servable checks that run's output holds a model the service loads.
func servable(run *record.Run, modelDir string) error {
	if _, err := os.Stat(filepath.Join(modelDir, ServeModelFile)); err != nil {
		return fmt.Errorf("run %s (experiment %s) has no servable model: %s is missing; serve needs a run whose train stage writes %s, such as those of experiments/digits-sklearn.yaml (go tool mage train -exp=digits-sklearn)",
			run.ID, run.Experiment, filepath.Join(modelDir, ServeModelFile), ServeModelFile)
	}
	return nil
}

// portFree fails when host:port cannot be listened on, before BentoML
// takes seconds to find out.
func portFree(host string, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("-port=%d: a port is a number from 1 to 65535", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("cannot serve on %s port %d: %w; pick another port with -port=N", host, port, err)
	}
	return l.Close()
}

// serveCmd builds the server's command line and environment. It is pure.
func serveCmd(s serveSpec) (path string, args, env []string) {
	args = []string{"-m", "bentoml", "serve", serveService,
		"--working-dir", filepath.Join(s.Root, serveDir),
		"--host", s.Host, "--port", strconv.Itoa(s.Port),
		"--arg", "model_dir=" + s.ModelDir,
		"--arg", "run_id=" + s.Run.ID,
		"--arg", "experiment=" + s.Run.Experiment}
	if g := s.Run.Git; g != nil && g.SHA != "" {
		args = append(args, "--arg", "git_sha="+g.SHA, "--arg", "git_dirty="+strconv.FormatBool(g.Dirty))
	}
	env = stageEnv(stageSpec{Stage: config.Stage{Name: "serve"}, Python: s.Python, RunID: s.Run.ID,
		RunDir: filepath.Dir(s.ModelDir), BaseEnv: s.BaseEnv})
	// BentoML keeps its model store and config under BENTOML_HOME (default
	// ~/bentoml) and sends usage reports unless told not to: keep the one
	// in the project and stop the other, unless the user set them.
	for k, v := range map[string]string{"BENTOML_HOME": filepath.Join(s.Root, ".magelab", "bentoml"), "BENTOML_DO_NOT_TRACK": "True"} {
		if !hasEnv(env, k) {
			env = append(env, k+"="+v)
		}
	}
	return s.Python, args, env
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// serve runs the server until ctx is done and reports how it ended.
func (p *Project) serve(ctx context.Context, s serveSpec) error {
	path, args, env := serveCmd(s)
	url := "http://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	sha := "unknown"
	if s.Run.Git != nil && s.Run.Git.SHA != "" {
		sha = s.Run.Git.SHA
		if s.Run.Git.Dirty {
			sha += " (dirty)"
		}
	}
	fmt.Fprintf(p.Out, "serve: run %s of %s (git %s) from %s\n", s.Run.ID, s.Run.Experiment, sha, filepath.Join(s.ModelDir, ServeModelFile))
	fmt.Fprintf(p.Out, "serve: starting BentoML on %s: POST /predict {\"inputs\": [[64 numbers], ...]}, POST /info, GET /readyz; Ctrl-C stops\n", url)
	logTail := &lineTail{max: 20}
	prefixed := NewPrefixWriter(p.Out, "[serve] ")
	done := make(chan struct{})
	go p.announceReady(ctx, done, readyURL(s.Host, s.Port))
	res, err := proc.RunTracked(ctx, proc.Command{Path: path, Args: args, Env: env, Dir: p.Root, Output: multiWriter{prefixed, logTail}}, func(n int) {
		fmt.Fprintf(p.Out, "serve: stopped %d process(es) the server left behind\n", n)
	})
	close(done)
	prefixed.Flush()
	switch {
	case err != nil:
		return fmt.Errorf("serve: %w", err)
	case res.Interrupted:
		fmt.Fprintf(p.Out, "serve: stopped\n")
		return nil
	}
	return fmt.Errorf("serve: the BentoML server exited with status %d before it was stopped; its last lines:\n    %s", res.ExitCode, strings.Join(logTail.lines(), "\n    "))
}

// readyURL is where readiness is asked: a server on every address answers
// on the loopback one.
func readyURL(host string, port int) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/readyz"
}

// announceReady polls url until it answers 200, then says so once.
func (p *Project) announceReady(ctx context.Context, done <-chan struct{}, url string) {
	start := time.Now()
	client := http.Client{Timeout: time.Second}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Fprintf(p.Out, "serve: ready at %s after %s\n", strings.TrimSuffix(url, "/readyz"), time.Since(start).Round(100*time.Millisecond))
			return
		}
	}
}

// lineTail keeps the last max lines written to it.
type lineTail struct {
	mu      sync.Mutex
	max     int
	partial []byte
	last    []string
}

func (l *lineTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.last = append(l.last, strings.TrimRight(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
		if len(l.last) > l.max {
			l.last = l.last[1:]
		}
	}
	if len(l.partial) > procLineMax {
		l.partial = l.partial[:0]
	}
	return len(b), nil
}

func (l *lineTail) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.last...)
	if len(l.partial) > 0 {
		out = append(out, string(l.partial))
	}
	return out
}

// multiWriter writes to each writer, ignoring their errors: the terminal
// going away must not stop the server.
type multiWriter []io.Writer

func (m multiWriter) Write(b []byte) (int, error) {
	for _, w := range m {
		w.Write(b)
	}
	return len(b), nil
}
