package serve

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
	"github.com/magelab/magelab/internal/runner"
)

// The address `serve` listens on unless told otherwise.
const (
	DefaultHost = "127.0.0.1"
	DefaultPort = 3000
)

// Options pick the run to serve and the address.
type Options struct {
	// RunID is a full or short run id; empty means the best finished run
	// of the experiment by its sweep metric (sweep.metric, sweep.goal), or
	// the newest when the experiment names no metric.
	RunID string
	Host  string // "" means DefaultHost
	Port  int    // 0 means DefaultPort
}

// spec is everything the server's command line needs.
type spec struct {
	Root, Python, Host string
	Port               int
	Run                *record.Run
	ModelDir           string
	Serve              config.Serve
	BaseEnv            []string
}

// server is a project serving one of its runs.
type server struct{ *runner.Project }

// Run serves a finished run's model with BentoML on opts' address until
// ctx is done (Ctrl-C), then stops the server and every process it started.
// exp is the experiment whose runs are candidates, whose venv serves and
// whose serve: block says what to run; nil takes the experiment the run
// (opts.RunID) was recorded with. A server stopped by ctx is no error; one
// that exits on its own is.
func Run(ctx context.Context, project *runner.Project, exp *config.Experiment, opts Options) error {
	p := &server{project}
	run, exp, err := p.serveRun(exp, opts.RunID)
	if err != nil {
		return err
	}
	if exp.Serve == nil {
		return fmt.Errorf("experiment %s (%s) has no serve: block: add one naming the BentoML service file, its class and the model file its runs write under out/ (see docs/serving.md)", exp.Name, fileOf(exp))
	}
	s := spec{Root: p.Root, Host: opts.Host, Port: opts.Port, Run: run, Serve: *exp.Serve,
		ModelDir: filepath.Join(p.Ledger.RunDir(run.ID), "out"), BaseEnv: os.Environ()}
	if s.Host == "" {
		s.Host = DefaultHost
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if err := servable(run, exp, s.ModelDir); err != nil {
		return err
	}
	if err := portFree(s.Host, s.Port); err != nil {
		return err
	}
	v := p.Venv(exp)
	hash, err := v.Ensure(ctx, p.Out)
	if err != nil {
		return err
	}
	if run.Env.RequirementsHash != "" && hash != run.Env.RequirementsHash {
		p.Warn(fmt.Sprintf("the requirements of %s changed since run %s was trained: its model may not load; train it again if it fails", exp.Name, run.ID))
	}
	s.Python = v.Python()
	return p.serve(ctx, s)
}

// serveRun resolves the run to serve and its experiment.
func (p *server) serveRun(exp *config.Experiment, id string) (*record.Run, *config.Experiment, error) {
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
	p.Warn(warnings...)
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
func (p *server) bestRun(exp *config.Experiment) (record.Summary, error) {
	q := query.Query{Experiment: exp.Name, Where: []query.Cond{query.Eq("status", string(record.StatusFinished))}, Limit: 1}
	metric, goal := sweepMetric(exp)
	if metric != "" {
		q.Sort = "-" + metric
		if goal == "minimize" {
			q.Sort = metric
		}
	}
	runs, warnings, err := query.List(p.Ledger, q)
	p.Warn(warnings...)
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

// sweepMetric is the metric and goal of exp's sweep block, if any.
func sweepMetric(exp *config.Experiment) (metric, goal string) {
	if exp.Sweep == nil {
		return "", ""
	}
	return exp.Sweep.Metric, exp.Sweep.Goal
}

// expArg is how -exp names exp on the command line.
func expArg(exp *config.Experiment) string {
	base := filepath.Base(exp.File)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// servable checks that run's output holds the model exp's service loads.
func servable(run *record.Run, exp *config.Experiment, modelDir string) error {
	model := filepath.Join(modelDir, exp.Serve.Model)
	if _, err := os.Stat(model); err != nil {
		return fmt.Errorf("run %s (experiment %s) has no servable model: %s is missing; serve needs a run whose train stage writes out/%s, as %s's serve.model says (go tool mage train -exp=%s)",
			run.ID, run.Experiment, model, exp.Serve.Model, fileOf(exp), expArg(exp))
	}
	return nil
}

// fileOf is the experiment file as messages name it: relative to the project.
func fileOf(exp *config.Experiment) string {
	if rel, err := filepath.Rel(exp.Root, exp.File); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return exp.File
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
func serveCmd(s spec) (path string, args, env []string) {
	args = []string{"-m", "bentoml", "serve", s.Serve.Module() + ":" + s.Serve.Class,
		"--working-dir", filepath.Join(s.Root, filepath.Dir(filepath.FromSlash(s.Serve.Service))),
		"--host", s.Host, "--port", strconv.Itoa(s.Port),
		"--arg", "model_dir=" + s.ModelDir,
		"--arg", "run_id=" + s.Run.ID,
		"--arg", "experiment=" + s.Run.Experiment}
	if g := s.Run.Git; g != nil && g.SHA != "" {
		args = append(args, "--arg", "git_sha="+g.SHA, "--arg", "git_dirty="+strconv.FormatBool(g.Dirty))
	}
	env = runner.StageEnv("serve", s.Root, s.Python, s.Run.ID, filepath.Dir(s.ModelDir), s.BaseEnv)
	// BentoML keeps its model store and config under BENTOML_HOME (default
	// ~/bentoml) and sends usage reports unless told not to: keep the one
	// in the project and stop the other, unless the user set them.
	for k, v := range map[string]string{"BENTOML_HOME": filepath.Join(s.Root, ".magelab", "bentoml"), "BENTOML_DO_NOT_TRACK": "True"} {
		if _, set := proc.LookupEnv(env, k); !set {
			env = append(env, k+"="+v)
		}
	}
	return s.Python, args, env
}

// serve runs the server until ctx is done and reports how it ended.
func (p *server) serve(ctx context.Context, s spec) error {
	path, args, env := serveCmd(s)
	url := "http://" + net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	sha := "unknown"
	if s.Run.Git != nil && s.Run.Git.SHA != "" {
		sha = s.Run.Git.SHA
		if s.Run.Git.Dirty {
			sha += " (dirty)"
		}
	}
	fmt.Fprintf(p.Out, "serve: run %s of %s (git %s) from %s\n", s.Run.ID, s.Run.Experiment, sha, filepath.Join(s.ModelDir, s.Serve.Model))
	usage := "GET /readyz"
	if s.Serve.Usage != "" {
		usage = s.Serve.Usage + ", " + usage
	}
	fmt.Fprintf(p.Out, "serve: starting BentoML on %s: %s; Ctrl-C stops\n", url, usage)
	logTail := &lineTail{max: 20}
	prefixed := runner.NewPrefixWriter(p.Out, "[serve] ")
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
func (p *server) announceReady(ctx context.Context, done <-chan struct{}, url string) {
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

// maxTailLine bounds the partial line a lineTail holds.
const maxTailLine = 64 << 10

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
	if len(l.partial) > maxTailLine {
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

// DefaultExperiment is the experiment `serve` serves when none is named:
// the one experiment of the project with a serve: block.
func DefaultExperiment(root string) (string, error) {
	var names []string
	for _, name := range config.Names(root) {
		if e, err := config.Load(root, name); err == nil && e.Serve != nil {
			names = append(names, name)
		}
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("serve: no experiment in %s has a serve: block; add one (see docs/serving.md), or pass -run=ID", filepath.Join(root, "experiments"))
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("serve: experiments %s have a serve: block: pick one with -exp=NAME", strings.Join(names, ", "))
}
