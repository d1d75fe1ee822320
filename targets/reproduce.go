package targets

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/magelab/magelab/internal/reproduce"
	"github.com/magelab/magelab/internal/runner"
)

// Reproduce reruns a recorded run (ID) from its exact commit, diff and params in a temporary git worktree and compares its metrics, exiting 3 when they drift (-tol=1e-6: relative tolerance; -freshenv: a venv from the run's pip freeze).
//
// Mage names a flag after its Go parameter, so -fresh-env is spelled
// -freshenv. Exit codes: 0 reproduced, 1 failure, 2 usage, 3 drifted
// (reproduce.ExitDrifted), 130 interrupted.
func Reproduce(ctx context.Context, id string, tol *float64, freshEnv *bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	p := runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout)
	res, err := reproduce.Run(ctx, p, id, reproduce.Options{Tolerance: tol, FreshEnv: deref(freshEnv)})
	var drift *reproduce.DriftError
	if res != nil && res.Run != nil && (err == nil || errors.As(err, &drift)) {
		fmt.Printf("run %s reproduces run %s (%s)\n", res.Run.ID, res.Original.ID, res.Original.Experiment)
		if werr := reproduce.WriteComparison(os.Stdout, res.Comparison); werr != nil {
			return werr
		}
	}
	return exit(err)
}
