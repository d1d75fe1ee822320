package slurm

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// Grace periods a stopped stage gets before SIGKILL. After Slurm's warning
// (--signal=B:USR1@lead) the task has lead seconds left, less what
// magelab needs to record the run; after SIGTERM Slurm kills every
// process of the task KillWait seconds later (30 by default).
const (
	recordMargin = 15 * time.Second
	termGrace    = 5 * time.Second
)

// RunTrial runs chunk c of a Slurm sweep's plan as a task of its job array
// (`sweep:trial -plan -chunk`): its one trial, into the trial's own runs/
// tree, on the GPUs Slurm allotted, stopped and recorded as preempted on
// Slurm's warning or SIGTERM. An earlier attempt of the task that Slurm
// requeued before it could record its end is recorded as preempted first,
// so that this attempt resumes from it.
func RunTrial(ctx context.Context, root string, c sweep.Chunk, s runner.Settings, out io.Writer) error {
	exp, err := c.Load(root)
	if err != nil {
		return err
	}
	lay := Layout{Root: root, ID: c.Sweep}
	k := c.First - 1
	p := taskProject(root, s, out, lay.TrialLedger(k), lay.TrialState(k))
	closeDangling(p.Ledger, s.Lookup, out)
	ctx, stop := preemptible(ctx, slurmBlock(exp), out)
	defer stop()
	_, err = sweep.Run(ctx, p, exp, sweep.Options{First: c.First, Last: c.Last, Parallel: 1, Allocation: true})
	return err
}

// taskProject is the project as a task sees it: the shared tree, with its
// runs and hash cache in the task's own directory, and the data stages'
// cache shared (made by the submitting side; the tasks only read it).
func taskProject(root string, s runner.Settings, out io.Writer, l *ledger.Ledger, state string) *runner.Project {
	p := runner.NewProjectWith(root, s, out, runner.Options{Ledger: l, StateDir: state})
	p.Cache.Dir = filepath.Join(root, ".magelab", "cache")
	return p
}

// slurmBlock is the experiment's slurm block, or the defaults.
func slurmBlock(exp *config.Experiment) *config.Slurm {
	if exp.Slurm != nil {
		return exp.Slurm
	}
	return config.DefaultSlurm()
}

// preemptible is ctx, cancelled with a *runner.Preempted when Slurm warns
// the task (SIGUSR1, as --signal=B:USR1 sends it) or terminates it
// (SIGTERM: a requeue, a cancel, the time limit): the stage's process
// group gets the experiment's stop signal, time to checkpoint, and the run
// is recorded as preempted. stop undoes it.
func preemptible(ctx context.Context, s *config.Slurm, out io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			p := preemption(sig.(syscall.Signal), s)
			fmt.Fprintf(out, "slurm: %s: stopping the stage with %s (it has %s to checkpoint and exit)\n", p.Why, config.SignalName(p.Signal), p.Grace)
			cancel(p)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// preemption is how the task answers sig.
func preemption(sig syscall.Signal, s *config.Slurm) *runner.Preempted {
	p := &runner.Preempted{Signal: s.StopSignal, Grace: termGrace}
	switch sig {
	case syscall.SIGUSR1:
		p.Why = "Slurm's warning (SIGUSR1): the time limit is near or the job is preempted"
		p.Grace = max(time.Second, time.Duration(s.SignalLead)*time.Second-recordMargin)
	default:
		p.Why = "Slurm ends the task (SIGTERM): a requeue, a cancel or the time limit"
	}
	return p
}

// closeDangling records the end of the runs of an earlier attempt of this
// task that never recorded theirs (Slurm killed it before it could): a task
// runs one attempt at a time, so they are over. When Slurm restarted the
// task they were preempted; else the task ended under them.
func closeDangling(l *ledger.Ledger, lookup func(string) (string, bool), out io.Writer) {
	runs, _, err := l.Summaries()
	if err != nil {
		return
	}
	restarts := 0
	if lookup != nil {
		v, _ := lookup("SLURM_RESTART_COUNT")
		restarts, _ = strconv.Atoi(v)
	}
	for _, r := range runs {
		if r.Status != record.StatusRunning && r.Status != record.StatusCrashed {
			continue
		}
		status, why := record.StatusFailed, "its Slurm task ended before the run recorded its end"
		if restarts > 0 {
			status, why = record.StatusPreempted, "Slurm requeued its task before the run recorded its end"
		}
		if err := closeRun(l, r.ID, status, why, time.Time{}); err != nil {
			fmt.Fprintf(out, "warning: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "slurm: run %s of an earlier attempt recorded as %s (%s)\n", r.ID, status, why)
	}
}
