package slurm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// watcher follows a sweep's trials on Slurm from the submitting side:
// it reads their states, records what Slurm ended, merges what is over and
// shows the progress.
type watcher struct {
	p       *runner.Project
	exp     *config.Experiment
	spec    *sweep.Spec
	trials  []sweep.Trial
	id      string
	lay     Layout
	cluster Cluster
	jobs    *Jobs

	imported map[int]int64 // trial → size of its tree's ledger when last merged
}

// settle records the end of each trial whose task is over without one
// (from Slurm's state) and merges every trial tree that is settled — its
// latest run finished, or its task over — into the project's ledger.
// It reports whether anything changed.
func (w *watcher) settle(states []TrialState) (bool, error) {
	changed := false
	for k, st := range states {
		if !st.Tree || st.Run == nil {
			continue
		}
		over := st.Task == nil || !st.Task.Active()
		if st.Run.Status != record.StatusFinished && !over {
			continue
		}
		if over && st.Run.Status != record.StatusFinished {
			did, err := w.amend(k, st)
			if err != nil {
				return changed, err
			}
			changed = changed || did
		}
		did, err := w.merge(k)
		if err != nil {
			return changed, err
		}
		changed = changed || did
	}
	return changed, nil
}

// amend records how Slurm ended trial k's task in its latest run, once:
// a run that Slurm killed (TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL)
// gets Slurm's verdict, whatever the task recorded on its way out; a run
// that recorded no end gets one.
func (w *watcher) amend(k int, st TrialState) (bool, error) {
	id := st.Run.ID
	if _, done := w.jobs.Amended[id]; done {
		return false, nil
	}
	var status record.Status
	var why string
	var at time.Time
	t := st.Task
	switch {
	case t != nil && t.Killed():
		status, why, at = record.StatusFailed, "Slurm ended its task "+t.Name()+": "+t.Verdict(), t.End
		if t.State == "NODE_FAIL" || t.State == "BOOT_FAIL" {
			status = record.StatusCrashed
		}
	case st.Run.Status != record.StatusRunning && st.Run.Status != record.StatusCrashed:
		return false, nil // the task recorded its end, and Slurm imposed none
	case t != nil && t.State == "PREEMPTED":
		status, why, at = record.StatusPreempted, "Slurm preempted its task "+t.Name(), t.End
	case t != nil:
		status, why, at = record.StatusFailed, "its task "+t.Name()+" ended ("+t.Verdict()+") before the run recorded its end", t.End
	default:
		status, why = record.StatusFailed, "Slurm no longer knows its task, which ended before the run recorded its end"
	}
	if err := closeRun(w.lay.TrialLedger(k), id, status, why, at); err != nil {
		return false, err
	}
	if w.jobs.Amended == nil {
		w.jobs.Amended = map[string]string{}
	}
	w.jobs.Amended[id] = string(status)
	return true, w.jobs.write(w.lay.Jobs())
}

// merge imports trial k's tree into the project's ledger when it changed
// since the last time (an import of the same tree adds nothing anyway).
func (w *watcher) merge(k int) (bool, error) {
	l := w.lay.TrialLedger(k)
	st, err := os.Stat(l.Path())
	if err != nil {
		return false, nil
	}
	if w.imported[k] == st.Size() {
		return false, nil
	}
	// Not cancelled by a detach: one trial's tree is small, and a merge
	// left half done would only be redone by the next sweep:status.
	rep, err := w.p.Ledger.Import(context.Background(), l.Dir, ledger.ImportOptions{})
	if err != nil {
		return false, fmt.Errorf("merge trial %d's runs (%s): %w", k+1, l.Dir, err)
	}
	for _, c := range rep.Conflicts {
		w.p.Warn(fmt.Sprintf("merge trial %d: run %s differs from the one in runs/: %s", k+1, c.ID, c.Reason))
	}
	w.imported[k] = st.Size()
	return len(rep.Added) > 0, nil
}

// outcome is a settled trial as the sweep's table shows it.
func (w *watcher) outcome(k int, st TrialState) sweep.Outcome {
	o := sweep.Outcome{Trial: st.Trial, Slot: sweep.Slot{Label: st.Where()}, Status: record.StatusFailed}
	if st.Run != nil {
		o.RunID, o.Status, o.Metrics = st.Run.ID, st.Run.Status, st.Run.Metrics
		o.Duration = time.Duration(st.Run.Duration * float64(time.Second))
		o.Reused = !st.Tree
	}
	switch st.Phase {
	case Finished:
		o.Status = record.StatusFinished
		return o
	case Missing:
		o.Status = ""
		return o
	}
	if o.Status == record.StatusRunning || o.Status == "" {
		o.Status = record.StatusFailed
	}
	msg := st.Why
	if st.Run != nil {
		if r, err := w.lay.TrialLedger(k).ReadRecord(st.Run.ID); err == nil && r.Error != "" {
			msg = r.Error
		}
	}
	if st.Task != nil {
		msg = fmt.Sprintf("(Slurm task %s, its log %s) %s", st.Task.Name(), w.lay.Log(*st.Task), msg)
	}
	o.Err = errors.New(msg)
	return o
}

// follow shows the sweep's progress until every trial is settled, and
// returns the final states; ctx done detaches (the trials go on).
func (w *watcher) follow(ctx context.Context, live bool) ([]TrialState, bool, error) {
	runDir := func(id string) string {
		for k := range w.trials {
			if dir := w.lay.TrialLedger(k).RunDir(id); exists(dir) {
				return dir
			}
		}
		return w.p.Ledger.RunDir(id)
	}
	tr := sweep.NewTracker(ctx, w.spec, len(w.trials), max(1, w.spec.Parallel), w.p.Out, live, w.p.Settings.ProgressInterval, runDir)
	defer tr.Stop()
	ended := map[int]bool{}
	last := ""
	for {
		// Settle until nothing changes, so that the states shown and
		// judged done are the ones every settled trial was merged from: a
		// trial that ended between two reads is merged before the sweep
		// can end (a sweep under load once returned without its last
		// trial's run).
		states, err := w.states(ctx)
		for err == nil {
			var changed bool
			if changed, err = w.settle(states); err != nil || !changed {
				break
			}
			states, err = w.states(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, true, nil
			}
			return nil, false, err
		}
		for k, st := range states {
			switch st.Phase {
			case Running:
				id := ""
				if st.Run != nil && st.Tree && st.Run.Status == record.StatusRunning {
					id = st.Run.ID
				}
				tr.Started(st.Trial, st.Where(), id)
			case Finished, Failed:
				if !ended[k] && (!st.Tree || settled(st)) {
					ended[k] = true
					tr.Ended(w.outcome(k, st))
				}
			}
		}
		if line := counts(states); line != last {
			tr.Println("slurm: " + line)
			last = line
		}
		if done(states) {
			return states, false, nil
		}
		select {
		case <-ctx.Done():
			return states, true, nil
		case <-time.After(w.p.Settings.SlurmPoll):
		}
	}
}

// settled reports whether a trial's own tree holds its final record: a
// finished run, or a task that is over.
func settled(st TrialState) bool {
	return st.Run != nil && (st.Run.Status == record.StatusFinished || st.Task == nil || !st.Task.Active())
}

// done reports whether no trial can change any more without a resubmission.
func done(states []TrialState) bool {
	for _, st := range states {
		if st.Phase == Pending || st.Phase == Running {
			return false
		}
	}
	return true
}

// counts is the phases' tally: "2 running · 3 pending · 1 finished".
func counts(states []TrialState) string {
	n := map[Phase]int{}
	for _, st := range states {
		n[st.Phase]++
	}
	var parts []string
	for _, ph := range []Phase{Running, Pending, Finished, Failed, Missing} {
		if n[ph] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[ph], ph))
		}
	}
	return strings.Join(parts, " · ")
}

// trialsIn lists the 0-based trials in the given phases, ascending.
func trialsIn(states []TrialState, phases ...Phase) []int {
	var out []int
	for k, st := range states {
		for _, ph := range phases {
			if st.Phase == ph {
				out = append(out, k)
			}
		}
	}
	sort.Ints(out)
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
