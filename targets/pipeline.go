package targets

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/magelab/magelab/internal/backend/slurm"
	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/report"
	"github.com/magelab/magelab/internal/runner"
)

// Setup creates the .venv and installs the experiment's requirements, unless they are unchanged.
func Setup(ctx context.Context, exp *string) error {
	p, e, err := load(exp, nil)
	if err != nil {
		return err
	}
	v := p.Venv(e)
	if ok, _, err := v.UpToDate(); err != nil || ok {
		if ok {
			fmt.Printf("setup: %s is up to date\n", v.Dir)
		}
		return err
	}
	_, err = v.Ensure(ctx, os.Stdout)
	return exit(err)
}

// SetupData runs the experiment's setup-data stage unless its output is up to date.
func SetupData(ctx context.Context, exp, set *string) error {
	return data(ctx, exp, set, "setup-data")
}

// Preprocess runs the experiment's data stages up to preprocess, skipping those up to date.
func Preprocess(ctx context.Context, exp, set *string) error {
	return data(ctx, exp, set, "preprocess")
}

// Train trains the experiment as a new recorded run; says "up to date" when an identical finished run exists (-force retrains); -backend=slurm runs it as a Slurm job (-detach, -cancel).
func Train(ctx context.Context, exp, set *string, force *bool, backend *string, detach, cancel *bool, plan *string) error {
	if deref(plan) != "" { // inside the Slurm job that train -backend=slurm submitted
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		res, err := slurm.RunTrain(ctx, root, deref(plan), runner.SettingsFromEnv(), os.Stdout)
		if err != nil {
			return exit(err)
		}
		return reportTrain(res)
	}
	p, e, err := load(exp, set)
	if err != nil {
		return err
	}
	onSlurm, err := slurmBackend(backend, e)
	if err != nil {
		return err
	}
	if onSlurm {
		return trainOnSlurm(ctx, p, e, exp, set, backend, slurm.TrainOptions{Set: deref(set), Force: deref(force), Detach: deref(detach), Cancel: deref(cancel)})
	}
	if deref(detach) || deref(cancel) {
		return fmt.Errorf("-detach and -cancel are for -backend=slurm (or backend: slurm in the experiment): a local run runs attached")
	}
	res, err := p.Train(ctx, e, runner.TrainOptions{Force: deref(force)})
	if a, on := autoExport(p.Ledger, e); on && res != nil && res.Run != nil && ctx.Err() == nil {
		exportWarn(a.Runs(ctx, res.Run.ID))
	}
	if err != nil {
		return exit(err)
	}
	return reportTrain(res)
}

// trainOnSlurm submits the run as a Slurm job and reports it once it is in
// the ledger.
func trainOnSlurm(ctx context.Context, p *runner.Project, e *config.Experiment, exp, set, backend *string, opts slurm.TrainOptions) error {
	opts.Command = again("train", e, exp, set, backend)
	res, err := slurm.Train(ctx, p, e, opts)
	if err != nil || res == nil || res.Run == nil {
		return exit(err)
	}
	r := res.Run
	if res.UpToDate {
		fmt.Printf("train: up to date: run %s (%s) has the same code, params, data and requirements; -force retrains\n", r.ID, r.Started.Local().Format("2006-01-02 15:04"))
	} else {
		fmt.Printf("run %s finished in %.1fs on Slurm (job %s)\n", r.ID, r.Duration, res.Job)
	}
	fmt.Printf("metrics: %s\n", report.FormatMetrics(r.Metrics))
	return nil
}

// reportTrain prints what a train run did.
func reportTrain(res *runner.TrainResult) error {
	r := res.Run
	if res.UpToDate {
		fmt.Printf("train: up to date: run %s (%s) has the same code, params, data and requirements; -force retrains\n", r.ID, r.Started.Local().Format("2006-01-02 15:04"))
	} else {
		fmt.Printf("run %s finished in %.1fs\n", r.ID, r.DurationSec)
	}
	fmt.Printf("metrics: %s\n", report.FormatMetrics(r.Metrics))
	return nil
}

// Eval evaluates the newest finished run of the experiment (or -run=ID), training first if there is none, and adds the metrics to that run.
func Eval(ctx context.Context, exp, set, run *string, force *bool) error {
	p, e, err := load(exp, set)
	if err != nil {
		return err
	}
	res, err := p.Eval(ctx, e, runner.EvalOptions{RunID: deref(run), Force: deref(force)})
	if err != nil {
		return exit(err)
	}
	if a, on := autoExport(p.Ledger, e); on {
		exportWarn(a.Runs(ctx, res.Run.ID))
	}
	fmt.Printf("run %s evaluated: %s\n", res.Run.ID, report.FormatMetrics(res.Metrics))
	return nil
}

// Clean removes the stage cache and build outputs; -all also removes runs/, .venv and the experiments' own venvs.
func Clean(all *bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	return runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout).Clean(deref(all))
}

func data(ctx context.Context, exp, set *string, upTo string) error {
	p, e, err := load(exp, set)
	if err != nil {
		return err
	}
	res, err := p.Data(ctx, e, upTo)
	if err != nil {
		return exit(err)
	}
	fmt.Printf("%s output: %s\n", upTo, res.Dir)
	return nil
}

// load opens the project in the current directory and its experiment with
// the -set overrides applied.
func load(exp, set *string) (*runner.Project, *config.Experiment, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, nil, err
	}
	name := deref(exp)
	if name == "" {
		name = "default"
	}
	e, err := config.Load(root, name)
	if err != nil {
		return nil, nil, err
	}
	if s := deref(set); s != "" {
		if err := e.Set(s); err != nil {
			return nil, nil, err
		}
	}
	return runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout), e, nil
}

// exit keeps the exit status an error asks for (130 when interrupted),
// which Mage reads only from the error it is handed.
func exit(err error) error {
	var coded interface{ ExitStatus() int }
	if err != nil && errors.As(err, &coded) {
		return mg.Fatal(coded.ExitStatus(), err.Error())
	}
	return err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
