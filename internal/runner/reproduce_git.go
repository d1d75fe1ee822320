package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/stamp"
)

// gitTimeout bounds one git call of a reproduction; a checkout of a large
// tree is the slowest.
const gitTimeout = 5 * time.Minute

// gitCommand builds one git call in dir. It is pure: the command line turns
// off the user's hooks (a post-checkout hook must not run for a temporary
// checkout), pager and colours, and the environment drops the variables by
// which an outer git (a hook running magelab) would point git elsewhere.
func gitCommand(dir string, env []string, args ...string) (argv, cmdEnv []string) {
	argv = append([]string{"-c", "core.hooksPath=/dev/null", "-c", "color.ui=false", "--no-pager", "-C", dir}, args...)
	return argv, stamp.GitCleanEnv(env)
}

// git runs git in dir and returns its standard output, trimmed. The error
// names the command and carries what git said on stderr.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	argv, env := gitCommand(dir, os.Environ(), args...)
	cmd := exec.CommandContext(ctx, "git", argv...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return strings.TrimSpace(stdout.String()), nil
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	if msg == "" {
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
}

// gitAvailable says why the git CLI cannot be used, or nil.
func gitAvailable() error {
	if _, err := exec.LookPath("git"); err != nil {
		return errors.New("reproduce needs the git command (go-git cannot create worktrees): install git and put it on PATH")
	}
	return nil
}
