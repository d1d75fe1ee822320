package gpu

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/pgroup"
)

// samplerGrace is how long a sampler has between SIGINT and SIGKILL.
const samplerGrace = 2 * time.Second

// drainTimeout bounds the reading of output once the process group is dead:
// only a process that escaped the group can still hold the pipe.
const drainTimeout = 2 * time.Second

// smiProc is one running nvidia-smi whose output lines go to a handler.
type smiProc struct {
	pid  int
	done chan struct{} // closed once the process is reaped and its output read

	mu       sync.Mutex
	reaped   bool     // the pid (and so the group id) may be reused: signal no more
	stopping bool     // Release asked it to stop: its exit is no error
	tail     []string // the last lines that were not rows: nvidia-smi's messages
	err      error    // how it ended, set before done is closed
}

// startSMI starts nvidia-smi with args in a process group of its own; each
// line of its output (stdout and stderr, merged) goes to handle, which says
// whether it was data.
func startSMI(args []string, handle func(string) bool) (*smiProc, error) {
	path, err := exec.LookPath(smiName)
	if err != nil {
		return nil, &UnavailableError{Reason: "nvidia-smi not found on PATH: no GPU telemetry", Err: err}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, &UnavailableError{Reason: fmt.Sprintf("telemetry sampler: create pipe: %v", err), Err: err}
	}
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = procAttr()
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close() // the child holds its own copy
	if err != nil {
		r.Close()
		return nil, &UnavailableError{Reason: fmt.Sprintf("cannot start the telemetry sampler: %v", err), Err: err}
	}
	p := &smiProc{pid: cmd.Process.Pid, done: make(chan struct{})}
	read := make(chan struct{})
	go p.read(r, handle, read)
	go p.wait(cmd, r, read)
	return p, nil
}

// read passes output lines to handle until the pipe ends.
func (p *smiProc) read(r *os.File, handle func(string) bool, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || handle(line) {
			continue
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 3 {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
	}
}

// wait waits for the process to exit, kills what is left of its group,
// reaps it, drains its output and records how it ended.
func (p *smiProc) wait(cmd *exec.Cmd, r *os.File, read <-chan struct{}) {
	defer close(p.done)
	pgroup.WaitExited(p.pid)
	p.mu.Lock()
	// The leader is an unreaped zombie, so its group id is still ours.
	syscall.Kill(-p.pid, syscall.SIGKILL)
	p.reaped = true
	p.mu.Unlock()
	werr := cmd.Wait()
	t := time.NewTimer(drainTimeout)
	select {
	case <-read:
	case <-t.C:
		r.SetReadDeadline(time.Now())
		<-read
	}
	t.Stop()
	r.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopping {
		p.err = p.exitError(cmd.ProcessState, werr)
	}
}

// exitError describes an nvidia-smi that ended on its own.
func (p *smiProc) exitError(ps *os.ProcessState, werr error) error {
	msg := strings.Join(p.tail, " / ")
	if ps == nil {
		return &UnavailableError{Reason: fmt.Sprintf("telemetry sampler: %v", werr), Err: werr}
	}
	reason := fmt.Sprintf("telemetry sampler nvidia-smi ended early (%s)", ps)
	if msg != "" {
		reason += ": " + msg
	}
	return &UnavailableError{Reason: reason, ExitCode: max(ps.ExitCode(), 0), Err: werr}
}

// exited reports whether the process has ended.
func (p *smiProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// earlyExit is the error of a process that ended on its own.
func (p *smiProc) earlyExit() error {
	if !p.exited() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// stop sends SIGINT to the group, SIGKILL after grace, and waits until the
// process is reaped and its output read.
func (p *smiProc) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = p.stopping || !p.exited()
	p.mu.Unlock()
	p.signal(syscall.SIGINT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	p.signal(syscall.SIGKILL)
	<-p.done
}

// signal sends sig to the process group unless the leader was reaped.
func (p *smiProc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		syscall.Kill(-p.pid, sig)
	}
}
