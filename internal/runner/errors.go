package runner

import (
	"fmt"
	"strings"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// StageError is a stage whose process failed. Callers read it with
// errors.As to get the exit code and the end of the log.
type StageError struct {
	Stage    string
	RunID    string // empty outside a run
	ExitCode int
	Log      string // path of the stage's full log
	LogTail  []string
	Err      error // set when the process ran fine but its outputs were bad
}

func (e *StageError) Error() string {
	var b strings.Builder
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "stage %s: %v", e.Stage, e.Err)
	case e.ExitCode == proc.ExitInterrupted:
		fmt.Fprintf(&b, "stage %s interrupted", e.Stage)
	default:
		fmt.Fprintf(&b, "stage %s failed with exit status %d", e.Stage, e.ExitCode)
	}
	if e.RunID != "" {
		status := record.StatusFailed
		if e.ExitCode == proc.ExitInterrupted {
			status = record.StatusInterrupted
		}
		fmt.Fprintf(&b, " (run %s recorded as %s)", e.RunID, status)
	}
	if len(e.LogTail) > 0 {
		fmt.Fprintf(&b, "\nlast lines of %s:\n    %s", e.Log, strings.Join(e.LogTail, "\n    "))
	}
	return b.String()
}

// ExitStatus is the status Mage exits with for this error.
func (e *StageError) ExitStatus() int {
	if e.ExitCode == proc.ExitInterrupted {
		return proc.ExitInterrupted
	}
	return 1
}
