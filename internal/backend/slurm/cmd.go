package slurm

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/proc"
)

// commandTimeout bounds one Slurm command: a controller that does not
// answer is an error, not a hang.
const commandTimeout = 60 * time.Second

// Cluster runs Slurm's commands (sbatch, squeue, scontrol, sacct, scancel,
// sinfo) in Dir with Env (nil: this process's environment).
type Cluster struct {
	Dir string
	Env []string
}

// CommandError is a Slurm command that failed: Slurm's own message
// (its standard error) is the error's text.
type CommandError struct {
	Command  []string
	ExitCode int
	Stderr   string
	Err      error // the command could not be started (not on PATH)
}

func (e *CommandError) Error() string {
	line := strings.Join(e.Command, " ")
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", line, e.Err)
	}
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("%s: exit status %d: %s", line, e.ExitCode, msg)
}

func (e *CommandError) Unwrap() error { return e.Err }

// run runs one Slurm command and returns its standard output.
func (c Cluster) run(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := proc.Run(ctx, proc.Command{Path: name, Args: args, Env: c.Env, Dir: c.Dir, Output: &stdout, Stderr: &stderr})
	argv := append([]string{name}, args...)
	switch {
	case err != nil:
		return "", &CommandError{Command: argv, Err: err}
	case res.Interrupted && ctx.Err() == context.DeadlineExceeded:
		return "", &CommandError{Command: argv, ExitCode: res.ExitCode, Stderr: fmt.Sprintf("no answer within %s (is slurmctld up? `scontrol ping` says)", commandTimeout)}
	case !res.OK():
		return stdout.String(), &CommandError{Command: argv, ExitCode: res.ExitCode, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}
