package gpu

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/proc"
)

// samplerGrace is how long a sampler has between SIGINT and SIGKILL.
const samplerGrace = 2 * time.Second

// smiProc is one running nvidia-smi whose output lines go to a handler.
type smiProc struct {
	p *proc.Process

	mu   sync.Mutex
	tail []string // the last lines that were not rows: nvidia-smi's messages
}

// startSMI starts nvidia-smi with args in a process group of its own; each
// line of its output (stdout and stderr, merged) goes to handle, which says
// whether it was data.
func startSMI(args []string, handle func(string) bool) (*smiProc, error) {
	path, err := exec.LookPath(smiName)
	if err != nil {
		return nil, &UnavailableError{Reason: "nvidia-smi not found on PATH: no GPU telemetry", Err: err}
	}
	sp := &smiProc{}
	lines := proc.NewLineWriter(func(line string) {
		line = strings.TrimSpace(line)
		if line == "" || handle(line) {
			return
		}
		sp.mu.Lock()
		sp.tail = append(sp.tail, line)
		if len(sp.tail) > 3 {
			sp.tail = sp.tail[1:]
		}
		sp.mu.Unlock()
	})
	sp.p, err = proc.Start(proc.Command{Path: path, Args: args, Output: lines})
	if err != nil {
		return nil, &UnavailableError{Reason: fmt.Sprintf("cannot start the telemetry sampler: %v", err), Err: err}
	}
	return sp, nil
}

// exited reports whether the process has ended.
func (sp *smiProc) exited() bool {
	select {
	case <-sp.p.Done():
		return true
	default:
		return false
	}
}

// earlyExit is the error of a process that ended on its own: nil while it
// runs and once stop ended it.
func (sp *smiProc) earlyExit() error {
	if !sp.exited() {
		return nil
	}
	res, err := sp.p.Wait()
	if res.Interrupted {
		return nil
	}
	sp.mu.Lock()
	msg := strings.Join(sp.tail, " / ")
	sp.mu.Unlock()
	if err != nil {
		return &UnavailableError{Reason: fmt.Sprintf("telemetry sampler: %v", err), Err: err}
	}
	reason := fmt.Sprintf("telemetry sampler nvidia-smi ended early (%s)", res)
	if msg != "" {
		reason += ": " + msg
	}
	return &UnavailableError{Reason: reason, ExitCode: max(res.ExitCode, 0), Err: fmt.Errorf("nvidia-smi: %s", res)}
}

// stop sends SIGINT to the group, SIGKILL after grace, and waits until the
// process is reaped and its output read.
func (sp *smiProc) stop(grace time.Duration) {
	sp.p.Stop(grace)
	sp.p.Wait()
}
