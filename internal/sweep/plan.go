package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// MaxJobs is GitHub Actions' limit on the jobs of one matrix.
const MaxJobs = 256

// Matrix is a sweep planned for fan-out: GitHub Actions' matrix JSON, one
// entry per chunk of trials. Each entry carries all a runner needs besides
// the checkout, so `sweep:trial -plan=FILE -chunk=K` runs chunk K anywhere.
type Matrix struct {
	Include []Chunk `json:"include"`
}

// Chunk is one matrix job: the trials First..Last (1-based, inclusive) of
// sweep Sweep, which is experiment Exp with the -set overrides Set.
type Chunk struct {
	Chunk  int    `json:"chunk"`
	Sweep  string `json:"sweep"`
	Exp    string `json:"exp"` // the experiment file, relative to the project root
	Set    string `json:"set,omitempty"`
	First  int    `json:"first"`
	Last   int    `json:"last"`
	Trials int    `json:"trials"` // in the whole sweep
	// Backend names what runs the chunk when it is not a plain sweep:trial
	// ("slurm": a task of a Slurm job array, which records into a runs/
	// tree of its own and is preempted on Slurm's signals).
	Backend string `json:"backend,omitempty"`
}

// PlanMatrix splits the sweep's trials (exp, with the -set overrides set
// already applied) into jobs chunks of consecutive
// trials, as even as they can be (jobs 0: one trial per job, at most
// MaxJobs). The same commit, experiment and flags give the same matrix.
func PlanMatrix(exp *config.Experiment, set string, jobs int) (Matrix, error) {
	spec, trials, err := Plan(exp, true)
	if err != nil {
		return Matrix{}, err
	}
	switch {
	case spec.Adaptive():
		return Matrix{}, fmt.Errorf("%s: sweep: method %s cannot be planned as a GitHub Actions matrix: it proposes each trial from the results of the ones before, and a matrix is fixed in advance; run it with `sweep` on one machine (its slots run in parallel), or use method: grid or random", fileOf(exp), spec.Method)
	case spec.EarlyStop != nil:
		return Matrix{}, fmt.Errorf("%s: sweep: early_stop cannot be planned as a GitHub Actions matrix: its pruner compares the trials' curves as they run, and a matrix runs its chunks apart; run it with `sweep` on one machine, or drop early_stop for the matrix", fileOf(exp))
	}
	switch {
	case jobs < 0 || jobs > MaxJobs:
		return Matrix{}, fmt.Errorf("-jobs=%d: a GitHub Actions matrix takes 1 to %d jobs", jobs, MaxJobs)
	case jobs == 0:
		jobs = MaxJobs
	}
	n := len(trials)
	jobs = min(jobs, n)
	m := Matrix{Include: make([]Chunk, jobs)}
	for k := range jobs {
		m.Include[k] = Chunk{Chunk: k, Sweep: ID(exp), Exp: filepath.ToSlash(fileOf(exp)), Set: set,
			First: k*n/jobs + 1, Last: (k + 1) * n / jobs, Trials: n}
	}
	return m, nil
}

// PlanPerTrial plans the sweep with one chunk per trial, chunk k being
// trial k+1, whatever their number: the tasks of a job array (Backend
// names what runs them).
func PlanPerTrial(exp *config.Experiment, set, backend string) (Matrix, error) {
	_, trials, err := Plan(exp, true)
	if err != nil {
		return Matrix{}, err
	}
	m := Matrix{Include: make([]Chunk, len(trials))}
	for k := range trials {
		m.Include[k] = Chunk{Chunk: k, Sweep: ID(exp), Exp: filepath.ToSlash(fileOf(exp)), Set: set,
			First: k + 1, Last: k + 1, Trials: len(trials), Backend: backend}
	}
	return m, nil
}

// WriteMatrix writes m as one line of JSON, as `echo "matrix=..." >> $GITHUB_OUTPUT` wants it.
func WriteMatrix(w io.Writer, m Matrix) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadMatrix reads a plan written by WriteMatrix.
func ReadMatrix(path string) (Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Matrix{}, fmt.Errorf("read plan: %w (write one with `sweep -plan -format=github > %s`)", err, path)
	}
	var m Matrix
	if err := json.Unmarshal(b, &m); err != nil || len(m.Include) == 0 {
		if err == nil {
			err = fmt.Errorf("no chunks")
		}
		return Matrix{}, fmt.Errorf("%s is not a sweep plan (%v): write one with `sweep -plan -format=github`", path, err)
	}
	return m, nil
}

// Find returns chunk k of the plan read from path.
func (m Matrix) Find(path string, k int) (Chunk, error) {
	for _, c := range m.Include {
		if c.Chunk == k {
			return c, nil
		}
	}
	return Chunk{}, fmt.Errorf("%s has no chunk %d (it has 0 to %d)", path, k, len(m.Include)-1)
}

// Load loads the chunk's experiment in root with its overrides and checks
// that it is the sweep that was planned: same experiment file and
// overrides, so the same trials.
func (c Chunk) Load(root string) (*config.Experiment, error) {
	exp, err := config.Load(root, c.Exp)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Set) != "" {
		if err := exp.Set(c.Set); err != nil {
			return nil, err
		}
	}
	if id := ID(exp); id != c.Sweep {
		return nil, fmt.Errorf("%s here makes sweep %s, but the plan is for sweep %s: the experiment file or the overrides differ from where the plan was made (check out the same commit)", c.Exp, id, c.Sweep)
	}
	return exp, nil
}
