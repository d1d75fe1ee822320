package slurm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// TrainPlan is what the task of a train job runs (`train -plan=FILE`): the
// experiment with its overrides, checked to be the one submitted.
type TrainPlan struct {
	ID    string `json:"id"`  // train-<12 hex>, as Layout names the job's directory
	Exp   string `json:"exp"` // the experiment file, relative to the project root
	Set   string `json:"set,omitempty"`
	Force bool   `json:"force,omitempty"`
}

// TrainOptions change how Train submits and follows a run.
type TrainOptions struct {
	Set     string
	Force   bool // train even when an identical finished run exists
	Detach  bool
	Cancel  bool
	Command string // how the user runs it again
}

// TrainResult is what Train did.
type TrainResult struct {
	Run      *record.Summary // the run, once it is in the ledger
	UpToDate bool            // an identical finished run existed; nothing was submitted
	Job      string          // the Slurm job
}

// trainID names a run's job directory: the same experiment file, -set
// overrides and name give the same id, so that running the same command
// again re-attaches to its job.
func trainID(exp *config.Experiment) string { return "train-" + sweep.ID(exp) }

// Train runs exp's train stage as one Slurm job and follows it until its
// run is in the ledger: an identical finished run makes it "up to date"
// (unless Force), and a job of the same command that Slurm still holds is
// re-attached to rather than submitted again.
func Train(ctx context.Context, p *runner.Project, exp *config.Experiment, opts TrainOptions) (*TrainResult, error) {
	if _, ok := exp.Stage("train"); !ok {
		return nil, fmt.Errorf("experiment %s (%s) has no train stage: add one under stages:", exp.Name, exp.File)
	}
	lay := Layout{Root: p.Root, ID: trainID(exp)}
	jobs, err := readJobs(lay.Jobs(), lay.ID)
	if err != nil {
		return nil, err
	}
	w := &watcher{p: p, exp: exp, id: lay.ID, lay: lay, cluster: Cluster{Dir: p.Root}, jobs: jobs, imported: map[int]int64{}}
	if opts.Cancel {
		return nil, w.cancel(ctx)
	}
	st, err := w.trainState(ctx)
	if err != nil {
		return nil, err
	}
	res := &TrainResult{}
	switch {
	case st.Phase == Pending || st.Phase == Running:
		res.Job = st.Task.Name()
		fmt.Fprintf(p.Out, "train: attached to Slurm job %s (%s)\n", res.Job, st.Phase)
	default:
		if !opts.Force {
			if r, ok := upToDate(p, exp); ok {
				return &TrainResult{Run: r, UpToDate: true}, nil
			}
		}
		if res.Job, err = w.submitTrain(ctx, exp, opts); err != nil {
			return nil, err
		}
	}
	if opts.Detach {
		fmt.Fprintf(p.Out, "train: detached; see how job %s stands (and merge its run) with `%s`; cancel it with `%s -cancel`\n", res.Job, opts.Command, opts.Command)
		return res, nil
	}
	return w.followTrain(ctx, res, opts.Command)
}

// upToDate finds a finished run of exp in the project's ledger with the
// train key exp has now.
func upToDate(p *runner.Project, exp *config.Experiment) (*record.Summary, bool) {
	hash, err := p.Venv(exp).Hash()
	if err != nil {
		return nil, false
	}
	keys, err := p.StageKeys(exp, hash)
	if err != nil {
		return nil, false
	}
	runs, _, err := query.List(p.Ledger, query.Query{Experiment: exp.Name, Limit: 1,
		Where: []query.Cond{query.Eq("key", keys["train"]), query.Eq("status", string(record.StatusFinished))}})
	if err != nil || len(runs) == 0 {
		return nil, false
	}
	return &runs[0], true
}

// trainState is how the run's job stands.
func (w *watcher) trainState(ctx context.Context) (TrialState, error) {
	tasks, err := w.tasksByName(ctx)
	if err != nil {
		return TrialState{}, err
	}
	return w.state(0, sweep.Trial{}, nil, tasks), nil
}

// submitTrain submits the run as one job.
func (w *watcher) submitTrain(ctx context.Context, exp *config.Experiment, opts TrainOptions) (string, error) {
	s := slurmBlock(exp)
	if err := preflight(ctx, w.cluster, s, w.lay.Dir()); err != nil {
		return "", err
	}
	if err := os.MkdirAll(w.lay.Logs(), 0o755); err != nil {
		return "", err
	}
	if err := prepare(ctx, w.p, exp, []sweep.Trial{{}}); err != nil {
		return "", err
	}
	if err := buildBinary(ctx, w.p.Root, w.lay.Binary(), nil); err != nil {
		return "", err
	}
	rel, _ := filepath.Rel(w.p.Root, exp.File)
	plan, _ := json.MarshalIndent(TrainPlan{ID: w.lay.ID, Exp: filepath.ToSlash(rel), Set: opts.Set, Force: opts.Force}, "", "  ")
	if err := durable.WriteFile(w.lay.Plan(), append(plan, '\n')); err != nil {
		return "", err
	}
	b := batch{
		Title:   fmt.Sprintf("magelab: train %s (%s) as one job.\nSubmitted with sbatch --parsable %s.", exp.Name, rel, w.lay.Script()),
		Options: sbatchOptions(s, "magelab-"+w.lay.ID, w.lay.Logs()+"/%j.out"),
		Root:    w.p.Root, Binary: w.lay.Binary(), Args: []string{"train", "-plan=" + w.lay.Plan()},
	}
	if err := durable.WriteFile(w.lay.Script(), []byte(b.text())); err != nil {
		return "", err
	}
	args := []string{"--parsable", w.lay.Script()}
	job, err := w.cluster.Submit(ctx, args)
	if err != nil {
		return "", fmt.Errorf("submit train %s: %w", exp.Name, err)
	}
	w.jobs.Submissions = append(w.jobs.Submissions, Submission{Job: job, Trials: []int{0}, Time: time.Now().UTC(), Args: args})
	if err := w.jobs.write(w.lay.Jobs()); err != nil {
		return "", fmt.Errorf("train: submitted as job %s, but recording it failed (scancel %s, then run again): %w", job, job, err)
	}
	fmt.Fprintf(w.p.Out, "train: submitted %s as Slurm job %s (sbatch %s)\n", exp.Name, job, strings.Join(args, " "))
	return job, nil
}

// followTrain waits for the job's run to settle, merges it and reports it;
// ctx done detaches.
func (w *watcher) followTrain(ctx context.Context, res *TrainResult, again string) (*TrainResult, error) {
	last := Phase("")
	for {
		st, err := w.trainState(ctx)
		if err == nil && (settled(st) || st.Phase == Failed) {
			if _, err = w.settle([]TrialState{st}); err == nil {
				st, err = w.trainState(ctx)
			}
		}
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if err == nil && st.Phase != last {
			fmt.Fprintf(w.p.Out, "train: job %s: %s\n", res.Job, describePhase(st))
			last = st.Phase
		}
		if err == nil && (st.Phase == Finished || st.Phase == Failed) {
			res.Run = st.Run
			if st.Phase == Failed {
				return res, fmt.Errorf("train on Slurm: %s: %s", st.Why, w.outcome(0, st).Err)
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(w.p.Out, "train: detached; job %s goes on in Slurm. Re-attach with `%s`; cancel with `%s -cancel`\n", res.Job, again, again)
			return res, nil
		case <-time.After(w.p.Settings.SlurmPoll):
		}
	}
}

func describePhase(st TrialState) string {
	switch {
	case st.Phase == Pending && st.Why != "":
		return "pending (" + st.Why + ")"
	case st.Phase == Running && st.Task != nil && st.Task.Node != "":
		return "running on " + st.Task.Node
	}
	return string(st.Phase)
}

// RunTrain runs a train job's run inside its Slurm task (`train
// -plan=FILE`): into the job's own runs/ tree, on the GPUs Slurm allotted,
// preempted on Slurm's warning or SIGTERM, and resuming from the latest
// earlier attempt that did not finish.
func RunTrain(ctx context.Context, root, planPath string, s runner.Settings, out io.Writer) (*runner.TrainResult, error) {
	b, err := os.ReadFile(planPath)
	if err != nil {
		return nil, fmt.Errorf("read train plan: %w", err)
	}
	var plan TrainPlan
	if err := json.Unmarshal(b, &plan); err != nil || plan.ID == "" {
		return nil, fmt.Errorf("%s is not a train plan (%v): `train -backend=slurm` writes one", planPath, err)
	}
	exp, err := config.Load(root, plan.Exp)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(plan.Set) != "" {
		if err := exp.Set(plan.Set); err != nil {
			return nil, err
		}
	}
	if id := trainID(exp); id != plan.ID {
		return nil, fmt.Errorf("%s here is %s, but the job was submitted for %s: the experiment file or overrides changed since (submit it again)", plan.Exp, id, plan.ID)
	}
	lay := Layout{Root: root, ID: plan.ID}
	p := taskProject(root, s, out, lay.TrialLedger(0), lay.TrialState(0))
	closeDangling(p.Ledger, s.Lookup, out)
	ctx, stop := preemptible(ctx, slurmBlock(exp), out)
	defer stop()
	return p.Train(ctx, exp, runner.TrainOptions{Force: plan.Force, RunOptions: runner.RunOptions{ResumeDir: resumeFrom(p)}})
}

// resumeFrom is the output of the latest run in p's ledger when it did not
// finish: what the next attempt may resume from.
func resumeFrom(p *runner.Project) string {
	r := latestRun(p.Ledger)
	if r == nil || r.Status == record.StatusFinished {
		return ""
	}
	dir := filepath.Join(p.Ledger.RunDir(r.ID), "out")
	if !exists(dir) {
		return ""
	}
	return dir
}
