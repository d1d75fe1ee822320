package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/proc"
)

// buildBinary builds the project's targets into one static binary at out
// with `go tool mage -compile` (CGO off, so that it runs on any node;
// -trimpath, so that it holds no local paths and copies of the project
// share Go's build cache),
// through a temporary file renamed into place: tasks already running keep
// the binary they started with. Mage reads a relative -compile path
// against magefiles/, so it gets an absolute one.
func buildBinary(ctx context.Context, root, out string, env []string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".new"
	if env == nil {
		env = os.Environ()
	}
	flags, _ := proc.LookupEnv(env, "GOFLAGS")
	env = append(append([]string{}, env...), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(flags+" -trimpath"))
	var log bytes.Buffer
	res, err := proc.Run(ctx, proc.Command{Path: "go", Args: []string{"tool", "mage", "-compile", tmp}, Env: env, Dir: root, Output: &log})
	if err != nil {
		return fmt.Errorf("build magelab for the tasks (go tool mage -compile): %w", err)
	}
	if !res.OK() {
		return fmt.Errorf("build magelab for the tasks: go tool mage -compile %s: %s:\n%s", tmp, res, strings.TrimSpace(log.String()))
	}
	return os.Rename(tmp, out)
}
