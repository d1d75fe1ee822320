package gitcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// maxStderr caps what of git's stderr an error carries.
const maxStderr = 2000

// Args is the command line of one git call in dir: the repository is the
// one -C finds, hooks are off (a post-checkout hook must not run for a
// temporary checkout), paths are unquoted, and never the user's pager or
// colours.
func Args(dir string, args ...string) []string {
	return append([]string{"-c", "core.quotepath=off", "-c", "core.hooksPath=/dev/null", "-c", "color.ui=false", "--no-pager", "-C", dir}, args...)
}

// Env is env for a git call: without the variables by which an outer git
// would point the call elsewhere, and with GIT_OPTIONAL_LOCKS=0.
func Env(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX", "GIT_OPTIONAL_LOCKS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GIT_OPTIONAL_LOCKS=0")
}

// Run runs git with args in dir for at most timeout, its stdout to w. The
// error names the command and carries its stderr; a timeout or a cancelled
// ctx is the context's error.
func Run(ctx context.Context, timeout time.Duration, dir string, w io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", Args(dir, args...)...)
	cmd.Env = Env(os.Environ())
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > maxStderr {
		msg = msg[:maxStderr] + "..."
	}
	if msg == "" {
		return fmt.Errorf("git %s: %w", args[0], err)
	}
	return fmt.Errorf("git %s: %w: %s", args[0], err, msg)
}

// Output runs git like Run and returns its stdout, trimmed.
func Output(ctx context.Context, timeout time.Duration, dir string, args ...string) (string, error) {
	var out bytes.Buffer
	err := Run(ctx, timeout, dir, &out, args...)
	return strings.TrimSpace(out.String()), err
}

// Available says why the git command cannot be used, or nil.
func Available() error {
	if _, err := exec.LookPath("git"); err != nil {
		return errors.New("the git command is not on PATH: install git")
	}
	return nil
}
