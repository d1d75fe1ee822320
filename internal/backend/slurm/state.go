package slurm

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/sweep"
)

// Phase is where one trial of a sweep on Slurm stands.
type Phase string

// The phases of a trial.
const (
	Missing  Phase = "missing"  // never submitted (or a submission that left no trace)
	Pending  Phase = "pending"  // its task waits in the queue (or was requeued)
	Running  Phase = "running"  // its task runs
	Finished Phase = "finished" // a run of it finished
	Failed   Phase = "failed"   // its latest attempt failed, crashed, was preempted or cancelled, and no task of it is left
)

// TrialState is one trial as the submitting side sees it: the task of its
// latest submission, as Slurm reports it, and its latest run.
type TrialState struct {
	Trial sweep.Trial
	Phase Phase
	Task  *Task           // the latest task that held it; nil when never submitted or Slurm forgot it
	Run   *record.Summary // its latest run, in its own tree or in runs/
	Tree  bool            // Run is in the trial's own tree (not merged yet, or merged and still there)
	Why   string          // for a failed trial: how it ended
}

// Where names the trial's task for progress lines: "slurm 4242_3 on node7".
func (s TrialState) Where() string {
	if s.Task == nil {
		return "slurm"
	}
	w := "slurm " + s.Task.Name()
	if s.Task.Node != "" && s.Task.Running() {
		w += " on " + s.Task.Node
	}
	return w
}

// states reads how every trial stands: Slurm's tasks of the recorded
// submissions, each trial's own tree and the project's ledger.
func (w *watcher) states(ctx context.Context) ([]TrialState, error) {
	byName, err := w.tasksByName(ctx)
	if err != nil {
		return nil, err
	}
	merged, err := sweep.LatestAttempts(w.p.Ledger, w.id, w.spec, w.trials)
	if err != nil {
		return nil, err
	}
	out := make([]TrialState, len(w.trials))
	for k, t := range w.trials {
		out[k] = w.state(k, t, merged[k], byName)
	}
	return out, nil
}

// state is how trial k stands, given its latest run in the project's
// ledger (nil: none) and Slurm's tasks by name.
func (w *watcher) state(k int, t sweep.Trial, merged *record.Summary, tasks map[string]*Task) TrialState {
	st := TrialState{Trial: t, Run: merged}
	if own := latestRun(w.lay.TrialLedger(k)); own != nil && (st.Run == nil || !own.Started.Before(st.Run.Started)) {
		st.Run, st.Tree = own, true
	}
	sub, submitted := w.jobs.latest(k)
	if submitted {
		st.Task = tasks[taskName(sub, k)]
	}
	st.Phase, st.Why = phase(st, submitted)
	return st
}

// tasksByName asks Slurm for the tasks of every recorded submission.
func (w *watcher) tasksByName(ctx context.Context) (map[string]*Task, error) {
	tasks, err := w.cluster.Tasks(ctx, w.jobs.jobIDs())
	if err != nil {
		return nil, err
	}
	byName := map[string]*Task{}
	for i := range tasks {
		byName[tasks[i].Name()] = &tasks[i]
	}
	return byName, nil
}

// phase decides a trial's phase: a finished run wins; else a task Slurm
// still holds; else how its latest attempt ended.
func phase(st TrialState, submitted bool) (Phase, string) {
	switch {
	case st.Run != nil && st.Run.Status == record.StatusFinished:
		return Finished, ""
	case st.Task != nil && st.Task.Active() && st.Task.Running():
		return Running, ""
	case st.Task != nil && st.Task.Active():
		return Pending, st.Task.Reason
	case st.Run != nil && st.Run.Status != record.StatusRunning:
		return Failed, string(st.Run.Status)
	case st.Run != nil: // recorded no end, and no task of it is left
		return Failed, "its task ended without recording how the run ended"
	case st.Task != nil:
		return Failed, fmt.Sprintf("its task ended (Slurm: %s) before it started a run", st.Task.Verdict())
	case submitted:
		return Failed, "Slurm no longer knows its task, and it left no run"
	}
	return Missing, ""
}

// taskName is the name of trial k's task in submission sub.
func taskName(sub Submission, k int) string {
	if !sub.Array {
		return sub.Job
	}
	return sub.Job + "_" + strconv.Itoa(k)
}

// latestRun is the newest run of a trial's own tree, or nil.
func latestRun(l *ledger.Ledger) *record.Summary {
	if _, err := os.Stat(l.Path()); err != nil {
		return nil
	}
	runs, _, err := l.Summaries()
	if err != nil || len(runs) == 0 {
		return nil
	}
	return &runs[len(runs)-1]
}
