package targets

import (
	"context"
	"os"

	"github.com/magelab/magelab/internal/adopt"
	"github.com/magelab/magelab/internal/runner"
)

// Init sets magelab up in this repository: experiments/, a .gitignore block for its outputs, and experiments/default.yaml running -script=path/train.py with each of its argparse options from a param; never overwrites a file.
func Init(ctx context.Context, script *string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	return adopt.Init(ctx, adopt.Options{Root: root, Script: deref(script), Python: runner.SettingsFromEnv().Python}, os.Stdout)
}
