package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// SweepOptions change how Sweep submits and follows a sweep.
type SweepOptions struct {
	Set         string // the -set overrides (the tasks apply them too)
	Parallel    int    // -parallel: tasks at a time (%P); 0: the sweep's parallel: (auto: no limit)
	Yes         bool   // more than sweep.ConfirmAbove trials
	RetryFailed bool   // resubmit the failed trials too, not only the missing ones
	Detach      bool   // return once submitted
	Cancel      bool   // scancel the sweep's jobs
	Live        bool   // redraw progress in place
	// Command is how the user runs this sweep again, for the messages
	// that say how to re-attach and cancel.
	Command string
}

// Sweep runs exp's sweep on Slurm as one job array: it submits the trials
// that are missing (and, with RetryFailed, those that failed) — never one
// pending, running or finished — then follows them until each is settled,
// merging each trial's runs into the project's ledger as it ends, and
// prints the ranked table. Running it again re-attaches to the same sweep.
func Sweep(ctx context.Context, p *runner.Project, exp *config.Experiment, opts SweepOptions) (*sweep.Result, error) {
	spec, trials, err := sweep.Plan(exp, opts.Yes)
	if err != nil {
		return nil, err
	}
	id := sweep.ID(exp)
	lay := Layout{Root: p.Root, ID: id}
	jobs, err := readJobs(lay.Jobs(), id)
	if err != nil {
		return nil, err
	}
	w := &watcher{p: p, exp: exp, spec: spec, trials: trials, id: id, lay: lay, cluster: Cluster{Dir: p.Root}, jobs: jobs, imported: map[int]int64{}}
	if opts.Cancel {
		return nil, w.cancel(ctx)
	}
	states, err := w.states(ctx)
	if err == nil {
		_, err = w.settle(states)
	}
	if err == nil {
		states, err = w.states(ctx)
	}
	if err != nil {
		return nil, err
	}
	todo := trialsIn(states, Missing)
	if opts.RetryFailed {
		todo = trialsIn(states, Missing, Failed)
	} else if failed := trialsIn(states, Failed); len(failed) > 0 {
		fmt.Fprintf(p.Out, "sweep %s: %s failed earlier (%s): add -retryFailed to resubmit them\n", id, plural(len(failed), "trial", "trials"), trialList(failed))
	}
	if len(todo) > 0 {
		parallel := opts.Parallel
		if parallel == 0 {
			parallel = spec.Parallel
		}
		if err := w.submit(ctx, slurmBlock(exp), opts.Set, todo, parallel); err != nil {
			return nil, err
		}
	} else if !done(states) {
		fmt.Fprintf(p.Out, "sweep %s: attached to job %s: %s\n", id, strings.Join(w.jobs.jobIDs(), ", "), counts(states))
	}
	if opts.Detach {
		fmt.Fprintf(p.Out, "sweep %s: detached; see how it stands (and merge what finished) with `%s`; cancel it with `%s -cancel`\n", id, opts.Command, opts.Command)
		return nil, nil
	}
	final, detached, err := w.follow(ctx, opts.Live)
	if err != nil {
		return nil, err
	}
	if detached {
		fmt.Fprintf(p.Out, "sweep %s: detached; its tasks go on in Slurm (job %s). Re-attach with `%s`; cancel with `%s -cancel`\n",
			id, strings.Join(w.jobs.jobIDs(), ", "), opts.Command, opts.Command)
		return nil, nil
	}
	return w.summarize(final)
}

// summarize prints the ranked table of a settled sweep from the project's
// ledger and records sweep.finished; the error names what did not finish.
func (w *watcher) summarize(states []TrialState) (*sweep.Result, error) {
	res := &sweep.Result{ID: w.id, Spec: w.spec}
	for k, st := range states {
		res.Outcomes = append(res.Outcomes, w.outcome(k, st))
	}
	err := sweep.Report(w.p, res)
	if missing := trialsIn(states, Missing); len(missing) > 0 {
		return res, fmt.Errorf("sweep %s: %s never submitted (%s): run the same command again to submit them", w.id, plural(len(missing), "trial was", "trials were"), trialList(missing))
	}
	if failed := trialsIn(states, Failed); len(failed) > 0 {
		return res, &Error{ID: w.id, Failed: failed, Total: len(states)}
	}
	return res, err
}

// Error is a sweep on Slurm some of whose trials did not finish.
type Error struct {
	ID     string
	Failed []int // 0-based
	Total  int
}

func (e *Error) Error() string {
	return fmt.Sprintf("sweep %s: %d of %d trials did not finish on Slurm (trial %s; their errors and task logs are above): fix the cause and run the same command with -retryFailed to resubmit them (finished trials are kept)",
		e.ID, len(e.Failed), e.Total, trialList(e.Failed))
}

// submit makes what the tasks read (venv, data stages, the binary) and
// submits trials as one job array, after checking what can be checked.
func (w *watcher) submit(ctx context.Context, s *config.Slurm, set string, trials []int, parallel int) error {
	if err := preflight(ctx, w.cluster, s, w.lay.Dir()); err != nil {
		return err
	}
	if err := prepare(ctx, w.p, w.exp, w.trials); err != nil {
		return err
	}
	if err := buildBinary(ctx, w.p.Root, w.lay.Binary(), nil); err != nil {
		return err
	}
	_, err := w.submitArray(ctx, s, set, trials, parallel)
	return err
}

// SubmitArray is the part of a sweep's submission after the checks, the
// venv, the data stages and the binary (.magelab/bin/magelab must exist):
// it plans the sweep with one chunk per trial, writes the plan and the
// batch script, submits trials (0-based) as one job array with at most
// parallel tasks at a time (0: no limit), and records it in jobs.json.
// It returns the array's job id.
func SubmitArray(ctx context.Context, p *runner.Project, exp *config.Experiment, set string, trials []int, parallel int) (string, error) {
	spec, all, err := sweep.Plan(exp, true)
	if err != nil {
		return "", err
	}
	id := sweep.ID(exp)
	lay := Layout{Root: p.Root, ID: id}
	jobs, err := readJobs(lay.Jobs(), id)
	if err != nil {
		return "", err
	}
	w := &watcher{p: p, exp: exp, spec: spec, trials: all, id: id, lay: lay, cluster: Cluster{Dir: p.Root}, jobs: jobs}
	return w.submitArray(ctx, slurmBlock(exp), set, trials, parallel)
}

func (w *watcher) submitArray(ctx context.Context, s *config.Slurm, set string, trials []int, parallel int) (string, error) {
	if err := os.MkdirAll(w.lay.Logs(), 0o755); err != nil {
		return "", err // Slurm fails a task whose --output directory is missing
	}
	plan, err := sweep.PlanPerTrial(w.exp, set, "slurm")
	if err != nil {
		return "", err
	}
	if err := writePlan(w.lay.Plan(), plan); err != nil {
		return "", err
	}
	b := sweepBatch(w.lay, w.exp, s, len(w.trials))
	if err := durable.WriteFile(w.lay.Script(), []byte(b.text())); err != nil {
		return "", err
	}
	args := []string{"--parsable", "--array=" + arraySpec(trials, parallel), w.lay.Script()}
	job, err := w.cluster.Submit(ctx, args)
	if err != nil {
		return "", fmt.Errorf("submit sweep %s: %w", w.id, err)
	}
	w.jobs.Submissions = append(w.jobs.Submissions, Submission{Job: job, Trials: trials, Array: true, Time: time.Now().UTC(), Args: args})
	if err := w.jobs.write(w.lay.Jobs()); err != nil {
		return job, fmt.Errorf("sweep %s: submitted as job %s, but recording it failed (scancel %s, then run again): %w", w.id, job, job, err)
	}
	fmt.Fprintf(w.p.Out, "sweep %s: submitted %s of %s as Slurm job array %s (sbatch %s)\n", w.id, plural(len(trials), "trial", "trials"), w.exp.Name, job, strings.Join(args, " "))
	return job, nil
}

// sweepBatch is the batch script of a sweep: task k runs trial k+1.
func sweepBatch(lay Layout, exp *config.Experiment, s *config.Slurm, n int) batch {
	return batch{
		Title: fmt.Sprintf("magelab: sweep %s of %s, %d trials; task K of the array runs trial K+1.\nSubmitted with sbatch --parsable --array=SPEC %s (SPEC: the trials, %%P at a time).",
			lay.ID, exp.Name, n, lay.Script()),
		Options: sbatchOptions(s, "magelab-"+lay.ID, lay.Logs()+"/%A_%a.out"),
		Root:    lay.Root,
		Binary:  lay.Binary(),
		Args:    []string{"sweep:trial", "-plan=" + lay.Plan(), "-chunk=$SLURM_ARRAY_TASK_ID"},
	}
}

// cancel cancels the sweep's jobs that Slurm still holds.
func (w *watcher) cancel(ctx context.Context) error {
	ids := w.jobs.jobIDs()
	if len(ids) == 0 {
		fmt.Fprintf(w.p.Out, "sweep %s: nothing to cancel: it was never submitted to Slurm\n", w.id)
		return nil
	}
	if err := w.cluster.Cancel(ctx, ids); err != nil {
		return err
	}
	fmt.Fprintf(w.p.Out, "sweep %s: cancelled Slurm job %s (scancel); running the same command again merges what the tasks left, and -retryFailed resubmits the trials they did not finish\n", w.id, strings.Join(ids, ", "))
	return nil
}

func writePlan(path string, m sweep.Matrix) error {
	var b bytes.Buffer
	if err := sweep.WriteMatrix(&b, m); err != nil {
		return err
	}
	return durable.WriteFile(path, b.Bytes())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// trialList is "1, 4, 5" (1-based).
func trialList(ks []int) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = strconv.Itoa(k + 1)
	}
	return strings.Join(s, ", ")
}
