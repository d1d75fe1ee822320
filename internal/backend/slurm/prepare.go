package slurm

import (
	"context"
	"fmt"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/sweep"
)

// prepare makes, on the submitting side, what every task only reads: the
// venv, and the data stages' outputs for each trial (trials that share
// data params share them). The tasks then never write the shared cache,
// and need no network for packages or downloads.
func prepare(ctx context.Context, p *runner.Project, exp *config.Experiment, trials []sweep.Trial) error {
	if _, err := p.Venv(exp).Ensure(ctx, p.Out); err != nil {
		return err
	}
	last := lastDataStage(exp)
	if last == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, t := range trials {
		e, err := exp.With(t.Values)
		if err != nil {
			return err
		}
		key := fmt.Sprint(e.Params.Select(config.SectionsFor(last)...), e.Seed)
		if seen[key] {
			continue
		}
		seen[key] = true
		if _, err := p.Data(ctx, e, last); err != nil {
			return fmt.Errorf("data stages, made here before submitting so that the tasks only read them: %w", err)
		}
	}
	return nil
}

// lastDataStage is the last configured stage before train, or "".
func lastDataStage(exp *config.Experiment) string {
	last := ""
	for _, s := range exp.Upstream("train") {
		last = s.Name
	}
	return last
}
