package gpu

import "fmt"

// UnavailableError means nvidia-smi gave no GPU information: it is missing,
// exited with a non-zero status, hung, or printed what this package cannot
// read. It is a warning for the caller, never a reason to fail a run.
type UnavailableError struct {
	Reason   string // what happened, in words, with nvidia-smi's own message when it gave one
	ExitCode int    // nvidia-smi's exit status; 0 when it did not exit with one
	Err      error  // the cause, when there is one (exec.ErrNotFound, context.DeadlineExceeded, …)
}

func (e *UnavailableError) Error() string { return fmt.Sprintf("no GPU information: %s", e.Reason) }

func (e *UnavailableError) Unwrap() error { return e.Err }
