package slurm

import (
	"context"
	"fmt"

	"github.com/magelab/magelab/internal/magebuild"
)

// buildBinary builds the project's targets into the one binary the tasks
// run (see magebuild: CGO off, -trimpath, renamed into place so that tasks
// already running keep theirs).
func buildBinary(ctx context.Context, root, out string, env []string) error {
	if err := magebuild.Compile(ctx, root, out, env); err != nil {
		return fmt.Errorf("build magelab for the tasks: %w", err)
	}
	return nil
}
