package targets

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/magelab/magelab/internal/backend/slurm"
	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/export/mlflow"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// Sweep holds the targets of a sweep fanned out over machines: sweep:trial, sweep:summary.
type Sweep mg.Namespace

// SWEEP is `sweep`: Go cannot name a function Sweep beside the namespace type.

// SWEEP runs the experiment's sweep: its trials in parallel slots (a GPU each, or CPU slots); -dry lists them; running it again resumes; -plan -format=github [-jobs=N] prints a GitHub Actions matrix instead; -backend=slurm submits it as a Slurm job array (-detach, -cancel).
func SWEEP(ctx context.Context, exp, set *string, parallel *int, dry, yes, retryFailed, force, plan *bool, format *string, jobs *int, backend *string, detach, cancel *bool) error {
	if deref(parallel) < 0 {
		return fmt.Errorf("-parallel=%d: want a number of slots ≥ 1 (or leave it out for the sweep's parallel:)", deref(parallel))
	}
	p, e, err := load(exp, set)
	if err != nil {
		return err
	}
	if deref(plan) {
		if f := deref(format); f != "" && f != "github" {
			return fmt.Errorf("-format=%s: -plan writes -format=github (the matrix JSON of a GitHub Actions job)", f)
		}
		m, err := sweep.PlanMatrix(e, deref(set), deref(jobs))
		if err != nil {
			return err
		}
		return sweep.WriteMatrix(os.Stdout, m)
	}
	onSlurm, err := slurmBackend(backend, e)
	if err != nil {
		return err
	}
	if !onSlurm && (deref(detach) || deref(cancel)) {
		return fmt.Errorf("-detach and -cancel are for -backend=slurm (or backend: slurm in the experiment): a local sweep runs attached")
	}
	if onSlurm && deref(force) {
		return fmt.Errorf("-force: a sweep on Slurm never retrains a finished trial (its runs are in the ledger); change the experiment or -set to make a new sweep, or run it here with -backend=local -force")
	}
	if onSlurm && !deref(dry) {
		_, err = slurm.Sweep(ctx, p, e, slurm.SweepOptions{Set: deref(set), Parallel: deref(parallel), Yes: deref(yes),
			RetryFailed: deref(retryFailed), Detach: deref(detach), Cancel: deref(cancel), Live: sizedTerminal(os.Stdout),
			Command: again("sweep", e, exp, set, backend)})
		return exit(err)
	}
	var stop func() (*mlflow.Result, error)
	if a, on := autoExport(p.Ledger, e); on && !deref(dry) {
		stop = a.Sweep(ctx, sweep.ID(e))
	}
	_, err = sweep.Run(ctx, p, e, sweep.Options{
		Parallel: deref(parallel), Dry: deref(dry), Yes: deref(yes), RetryFailed: deref(retryFailed), Force: deref(force),
		Live: sizedTerminal(os.Stdout),
	})
	if stop != nil && ctx.Err() == nil {
		exportWarn(stop())
	} else if stop != nil {
		stop()
	}
	return exit(err)
}

// Trial runs one chunk of a planned sweep (-plan=FILE from `sweep -plan`, -chunk=K) into runs/, as the same sweep.
func (Sweep) Trial(ctx context.Context, plan *string, chunk, parallel *int) error {
	p, e, c, err := loadChunk(plan, chunk)
	if err != nil {
		return err
	}
	if c.Backend == "slurm" {
		return exit(slurm.RunTrial(ctx, p.Root, c, p.Settings, os.Stdout))
	}
	_, err = sweep.Run(ctx, p, e, sweep.Options{Parallel: deref(parallel), First: c.First, Last: c.Last, Live: sizedTerminal(os.Stdout)})
	return exit(err)
}

// Summary prints a sweep's ranked trials from the ledger (after runs:import of its chunks): -plan=FILE, or -exp and -set; fails when a trial is missing or failed.
func (Sweep) Summary(plan, exp, set *string) error {
	var p *runner.Project
	var e *config.Experiment
	var err error
	if deref(plan) != "" {
		zero := 0
		p, e, _, err = loadChunk(plan, &zero)
	} else {
		p, e, err = load(exp, set)
	}
	if err != nil {
		return err
	}
	_, err = sweep.Summarize(p, e)
	return exit(err)
}

// loadChunk reads chunk K of a plan and loads its experiment, checked to be
// the planned sweep.
func loadChunk(plan *string, chunk *int) (*runner.Project, *config.Experiment, sweep.Chunk, error) {
	if deref(plan) == "" || chunk == nil {
		return nil, nil, sweep.Chunk{}, fmt.Errorf("want -plan=FILE (written by `sweep -plan -format=github`) and -chunk=K")
	}
	m, err := sweep.ReadMatrix(*plan)
	if err != nil {
		return nil, nil, sweep.Chunk{}, err
	}
	c, err := m.Find(*plan, *chunk)
	if err != nil {
		return nil, nil, c, err
	}
	root, err := os.Getwd()
	if err != nil {
		return nil, nil, c, err
	}
	e, err := c.Load(root)
	if err != nil {
		return nil, nil, c, err
	}
	return runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout), e, c, nil
}

// sizedTerminal reports whether f is a terminal that knows its width: the
// live display needs one (a pty without a size gets plain lines).
func sizedTerminal(f *os.File) bool {
	w, _, err := term.GetSize(int(f.Fd()))
	return err == nil && w > 0
}
