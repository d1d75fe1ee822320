package reproduce

import (
	"context"
	"errors"
	"time"

	"github.com/magelab/magelab/internal/gitcmd"
)

// gitTimeout bounds one git call of a reproduction; a checkout of a large
// tree is the slowest.
const gitTimeout = 5 * time.Minute

// git runs git in dir and returns its standard output, trimmed.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	return gitcmd.Output(ctx, gitTimeout, dir, args...)
}

// gitAvailable says why the git CLI cannot be used, or nil.
func gitAvailable() error {
	if gitcmd.Available() != nil {
		return errors.New("reproduce needs the git command (go-git cannot create worktrees): install git and put it on PATH")
	}
	return nil
}
