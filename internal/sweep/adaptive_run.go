package sweep

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/runner"
)

// dryProposals is how many proposals -dry lists for tpe and cmaes: about
// TPE's random start-up (10 trials), which no result changes.
const dryProposals = 10

// runAdaptive runs a tpe or cmaes sweep: a free slot asks the study for
// the next point until trials: N have ended (those of earlier attempts
// count). A resumed sweep first reruns the points that were interrupted
// or crashed; -retryFailed reruns only the failed ones.
func runAdaptive(ctx context.Context, p *runner.Project, exp *config.Experiment, res *Result, slots []Slot, opts Options) (*Result, error) {
	spec := res.Spec
	if _, err := p.Venv(exp).Ensure(ctx, p.Out); err != nil {
		return nil, err
	}
	ctx, st, trials, cleanup, err := startStudy(ctx, p, exp, res)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	plan := planResume(trials, spec.Trials, opts.RetryFailed)
	for _, params := range plan.Again {
		if err := st.study.Enqueue(ctx, params, map[string]any{"magelab_again": true}); err != nil {
			return nil, err
		}
	}
	if err := p.Ledger.Append(startedEvent(res.ID, exp, spec, spec.Trials, len(slots))); err != nil {
		return nil, err
	}
	fmt.Fprintf(p.Out, "sweep %s: %s of %s, %s, %d of %d spent, on %s\n", res.ID, pluralf(plan.Asks, "trial", "trials"), exp.Name,
		describeMethod(spec), plan.Spent, spec.Trials, describeSlots(slots))
	fmt.Fprintf(p.Out, "sweep %s: study in %s (optuna-dashboard %s)\n", res.ID, rel(p.Root, st.study.Journal()), rel(p.Root, st.study.Journal()))
	if opts.RetryFailed && plan.Asks == 0 {
		fmt.Fprintf(p.Out, "sweep %s: no failed trial to retry\n", res.ID)
	}
	ask := func(ctx context.Context) (Trial, error) {
		n, values, err := st.study.Ask(ctx, nil)
		if err != nil {
			st.failed(err)
			return Trial{}, err
		}
		return Trial{Index: n, Values: values}, nil
	}
	var askErr error
	res.Outcomes = run(ctx, p, exp, res, spec.Trials, slots, opts, st, func(one runFunc, stop func(Outcome) bool) []Outcome {
		var outs []Outcome
		outs, askErr = scheduleAdaptive(ctx, plan.Asks, slots, ask, one, stop)
		return outs
	})
	if askErr != nil && helperErr(ctx) == nil {
		return res, askErr
	}
	all, err := st.study.Trials(context.WithoutCancel(ctx))
	if err != nil && helperErr(ctx) == nil {
		return res, err
	}
	trialList := studyTrials(spec, all)
	if all == nil { // the helper is gone: the table shows this attempt's trials
		for _, o := range res.Outcomes {
			trialList = append(trialList, o.Trial)
		}
	}
	return res, end(ctx, p, res, trialList)
}

// dryAdaptive lists the first proposals the study would make, asked of a
// copy of its journal, so that nothing is recorded: with the same seed, a
// run proposes these first (TPE's start-up points do not depend on results).
func dryAdaptive(ctx context.Context, p *runner.Project, exp *config.Experiment, res *Result, slots []Slot) error {
	tmp, err := os.MkdirTemp("", "magelab-dry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	journal := filepath.Join(tmp, JournalName)
	if err := copyFile(filepath.Join(p.Ledger.SweepDir(res.ID), JournalName), journal); err != nil {
		return err
	}
	study, _, closeStudy, err := openStudy(ctx, p, exp, res.ID, journal)
	if err != nil {
		return err
	}
	defer closeStudy()
	trials, err := abandon(ctx, study)
	if err != nil {
		return err
	}
	plan := planResume(trials, res.Spec.Trials, false)
	for _, params := range plan.Again {
		if err := study.Enqueue(ctx, params, nil); err != nil {
			return err
		}
	}
	n := min(plan.Asks, max(dryProposals, len(plan.Again)))
	fmt.Fprintf(p.Out, "sweep %s: %s, %d of %d trials spent, %d to go, on %s (dry run: nothing runs)\n", res.ID, describeMethod(res.Spec),
		plan.Spent, res.Spec.Trials, plan.Asks, describeSlots(slots))
	if n > 0 {
		fmt.Fprintf(p.Out, "the first %s (the later ones depend on the results):\n", pluralf(n, "proposal", "proposals"))
	}
	for range n {
		number, values, err := study.Ask(ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.Out, "%4d  %s\n", number+1, Trial{Values: values}.Label())
	}
	return nil
}

// copyFile copies src to dst; a missing src is no error (a new study).
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// rel is path relative to root, for messages.
func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && filepath.IsLocal(r) {
		return r
	}
	return path
}
