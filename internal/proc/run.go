package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long Run waits between SIGINT and SIGKILL when a
// Command sets no Grace. It stays below Mage's 5s cleanup window so that a
// Ctrl-C'd target still gets to kill its children and write its records.
const DefaultGrace = 3 * time.Second

// drainTimeout bounds how long Run keeps reading output once every
// process in the group is dead: a process that escaped the group (setsid)
// may hold the pipe open for ever, and Run must not wait for it.
const drainTimeout = 2 * time.Second

// Command is one child process to run in its own process group. Its
// standard input is /dev/null unless Stdin is set.
type Command struct {
	Path   string        // executable; looked up on the PATH in Env (else the current PATH) when it has no slash
	Args   []string      // arguments after the executable
	Env    []string      // full environment; nil means os.Environ()
	Dir    string        // working directory; empty means the current one
	Output io.Writer     // receives stdout and stderr merged, in order; nil discards them; flushed at the end when it has a Flush method
	Stderr io.Writer     // when not nil, receives stderr apart from Output
	Stdin  *os.File      // when not nil, the child's standard input (the read end of a pipe to talk to it)
	Grace  time.Duration // between SIGINT to the group and SIGKILL to the group; 0 means DefaultGrace
	// OnStart, when set, is called with the pid (and process group id) once
	// the process has started, before Run waits for it.
	OnStart func(pid int)
}

// Result is how a finished process ended.
//
// A process that Run interrupted and then had to kill with SIGKILL reports
// ExitCode 130, as if SIGINT had killed it, so that callers treat every
// interrupted run alike; Signal still says SIGKILL. A process that caught
// SIGINT and exited on its own keeps its exit status, with Interrupted set.
type Result struct {
	ExitCode    int            // exit status; 128+signal when a signal killed it
	Signal      syscall.Signal // the signal that killed it, 0 if it exited
	Interrupted bool           // the context was cancelled or timed out while it ran
	Duration    time.Duration  // from start until the process exited
	MaxRSS      int64          // peak resident set in bytes of the process and the descendants it waited for
	UserTime    time.Duration  // user CPU time of the process and the descendants it waited for
	SysTime     time.Duration  // system CPU time of the process and the descendants it waited for
	Leftovers   int            // descendants still alive when it ended, which were killed then
	state       string         // how the kernel reported its end ("exit status 2", "signal: killed")
}

// String says how the process ended, as os.ProcessState does: "exit status
// 2", "signal: killed".
func (r Result) String() string { return r.state }

// OK reports whether the process exited with status 0 on its own.
func (r Result) OK() bool {
	return r.ExitCode == 0 && r.Signal == 0 && !r.Interrupted
}

// Run starts c in its own process group, waits for it, and returns how it
// ended. When ctx is done, the group gets SIGINT and, after c.Grace, SIGKILL.
// Once the process exits, whatever is left in its group is killed, so
// nothing outlives it, and its output is drained before Run returns.
//
// The error is non-nil only when the process could not be started (a missing
// or non-executable file, a bad Dir, or ctx already done, when the error
// wraps ctx.Err() and the Result says Interrupted); a non-zero exit is not an
// error but a Result.
func Run(ctx context.Context, c Command) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{Interrupted: true, ExitCode: 130}, fmt.Errorf("start %s: %w", c.Path, err)
	}
	p, err := Start(c)
	if err != nil {
		return Result{}, err
	}
	if c.OnStart != nil {
		c.OnStart(p.pid)
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		sig, g := stopHow(ctx, c)
		p.StopWith(sig, g)
	}
	return p.Wait()
}

// Process is a started Command: its shim (see shim.go) leads its own
// process group, and the program runs in that group under it.
type Process struct {
	path   string
	pid    int // the shim's, which is also the group's id
	child  int // the program's
	shim   *shimPipes
	exited chan struct{} // closed once the leader has exited (before it is reaped)
	done   chan struct{} // closed once it is reaped and its output drained

	mu          sync.Mutex
	reaped      bool // the pid, and so the group id, may be reused: signal no more
	interrupted bool // Stop came before the leader exited
	res         Result
	err         error
}

// Start starts c in a process group of its own and returns at once. A
// goroutine waits for the leader; when it exits, whatever is left of the
// program's descendants has been killed (by the shim, which finds them
// even outside the group), the group is killed too and the output drained.
// The error is that of Run when c cannot be started.
func Start(c Command) (*Process, error) {
	cmd, err := command(c)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: create output pipe: %w", c.Path, err)
	}
	pipes, shimEnds, err := newShimPipes()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start %s: create supervisor pipes: %w", c.Path, err)
	}
	cmd.ExtraFiles = shimEnds
	cmd.Stdout, cmd.Stderr = w, w
	if c.Stderr != nil {
		cmd.Stderr = c.Stderr
	}
	start := time.Now()
	err = cmd.Start()
	w.Close() // the child holds its own copy; ours would keep the pipe open
	for _, f := range shimEnds {
		f.Close()
	}
	if err != nil {
		r.Close()
		pipes.close()
		return nil, startError(c.Path, err)
	}
	child, err := pipes.started(cmd.Path)
	if err != nil {
		cmd.Wait()
		r.Close()
		pipes.close()
		return nil, startError(c.Path, err)
	}
	p := &Process{path: c.Path, pid: cmd.Process.Pid, child: child, shim: pipes, exited: make(chan struct{}), done: make(chan struct{})}
	copied := copyOutput(c.Output, r)
	go p.wait(cmd, start, r, copied, c.Output)
	return p, nil
}

// wait waits for the leader to exit, kills what is left of its group,
// reaps it, drains its output and records how it ended.
func (p *Process) wait(cmd *exec.Cmd, start time.Time, r *os.File, copied <-chan struct{}, out io.Writer) {
	defer close(p.done)
	WaitExited(p.pid)
	duration := time.Since(start)
	p.mu.Lock()
	close(p.exited)
	// The leader is an unreaped zombie here, so its pid, which is the group
	// id, cannot have been reused: the kill reaches only its own leftovers.
	syscall.Kill(-p.pid, syscall.SIGKILL)
	p.reaped = true
	interrupted := p.interrupted
	p.mu.Unlock()
	waitErr := cmd.Wait()
	end, reported := p.shim.ended()
	p.shim.close()
	drain(r, copied)
	if f, ok := out.(interface{ Flush() error }); ok {
		f.Flush()
	}
	switch {
	case reported:
		p.res = end.result(interrupted, duration)
	case cmd.ProcessState == nil:
		p.res, p.err = Result{Interrupted: interrupted, Duration: duration}, fmt.Errorf("wait for %s: %w", p.path, waitErr)
	default: // the shim itself was killed: what its state says is all there is
		p.res = result(cmd.ProcessState, interrupted, duration)
	}
}

// PID is the process's id, which is also its process group's.
func (p *Process) PID() int { return p.pid }

// Done is closed once the process has ended and its output is drained.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until the process has ended and its output is drained, and
// returns how it ended.
func (p *Process) Wait() (Result, error) {
	<-p.done
	return p.res, p.err
}

// Signal sends sig to the process group, unless the leader was reaped.
// SIGKILL goes through the shim, which kills the program and every
// descendant, in the group or not.
func (p *Process) Signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.reaped:
	case sig == syscall.SIGKILL:
		p.shim.kill()
	default:
		syscall.Kill(-p.pid, sig)
	}
}

// Stop interrupts the process: SIGINT to its group and, if the leader
// outlives grace, SIGKILL to it and everything it started; it returns once
// the leader has exited. A process that had exited by then is left as it
// ended; otherwise its Result says Interrupted.
func (p *Process) Stop(grace time.Duration) {
	p.StopWith(syscall.SIGINT, grace)
}

// StopWith is Stop with sig in place of SIGINT: what a cluster's
// preemption asks the process to checkpoint on.
func (p *Process) StopWith(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	select {
	case <-p.exited: // it had exited on its own by the time we looked
		p.mu.Unlock()
		return
	default:
	}
	p.interrupted = true
	syscall.Kill(-p.pid, sig)
	p.mu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	p.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
		return
	case <-time.After(cleanupWithin + time.Second):
	}
	// The shim did not end: kill the whole group, shim included.
	p.mu.Lock()
	if !p.reaped {
		syscall.Kill(-p.pid, syscall.SIGKILL)
	}
	p.mu.Unlock()
	<-p.exited
}

// command builds the exec.Cmd for c without starting it.
func command(c Command) (*exec.Cmd, error) {
	if c.Path == "" {
		return nil, errors.New("start: empty Command.Path; name the executable to run")
	}
	if c.Dir != "" {
		if _, err := os.Stat(c.Dir); err != nil {
			return nil, fmt.Errorf("start %s in %s: %w; create the directory or fix Command.Dir", c.Path, c.Dir, err)
		}
	}
	path, err := lookPath(c.Path, c.Env, c.Dir)
	if err != nil {
		return nil, startError(c.Path, err)
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	// The shim runs path with argv c.Path, c.Args... A magelab killed
	// with SIGKILL cannot stop its children: the shim sees its control
	// pipe close and kills the program and everything it started (a sweep
	// resumed after kill -9 must not race the old trials).
	cmd := &exec.Cmd{
		Path:        shimExe,
		Args:        append([]string{"magelab-proc", path, c.Path}, c.Args...),
		Env:         append(withoutVar(env, shimEnv), shimEnv+"=1"),
		Dir:         c.Dir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if c.Stdin != nil { // a nil *os.File in the interface would close the child's stdin
		cmd.Stdin = c.Stdin
	}
	return cmd, nil
}

// lookPath finds file like exec.LookPath, but on the PATH that the child
// will get, so that a virtual environment's bin directory in env counts.
// Relative PATH entries are refused, as exec.LookPath refuses them, and a
// file that exists but cannot be executed is reported as such rather than as
// "not found".
func lookPath(file string, env []string, wd string) (string, error) {
	if strings.Contains(file, "/") {
		if fi, err := os.Stat(filepath.Join(wd, file)); err == nil && fi.IsDir() {
			return "", &fs.PathError{Op: "exec", Path: file, Err: syscall.EISDIR}
		}
		return file, nil // anything else is for execve to judge
	}
	path, ok := LookupEnv(env, "PATH")
	if !ok {
		path = os.Getenv("PATH")
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, file)
		at := candidate
		if !filepath.IsAbs(at) {
			at = filepath.Join(wd, at) // filepath.Join would put an absolute one under wd too
		}
		err := executable(at)
		switch {
		case err == nil && !filepath.IsAbs(dir):
			return "", &exec.Error{Name: candidate, Err: exec.ErrDot}
		case err == nil:
			return candidate, nil
		case denied == nil && errors.Is(err, fs.ErrPermission):
			denied = &fs.PathError{Op: "exec", Path: candidate, Err: err}
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", fmt.Errorf("%w; searched PATH=%s", &exec.Error{Name: file, Err: exec.ErrNotFound}, path)
}

// LookupEnv returns the last value of key in env, as a child given env
// sees it. A nil env means the child inherits ours.
func LookupEnv(env []string, key string) (string, bool) {
	if env == nil {
		return os.LookupEnv(key)
	}
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// executable reports whether path is a file this process may execute.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	const xOK = 1 // X_OK from unistd.h
	return syscall.Access(path, xOK)
}

// startError names the command, keeps the cause and says what to do.
func startError(path string, err error) error {
	hint := "check the command and its environment"
	switch {
	case errors.Is(err, exec.ErrDot):
		hint = "give it as ./name or put only absolute directories on PATH"
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		hint = "install it, fix the path, or put its directory on the command's PATH"
	case errors.Is(err, syscall.EISDIR):
		hint = "name the executable inside it"
	case errors.Is(err, fs.ErrPermission):
		hint = "make it executable with chmod +x, or run it through its interpreter"
	case errors.Is(err, syscall.ENOEXEC):
		hint = "it is not a program for this machine: add a #! line, or run it through its interpreter"
	}
	return fmt.Errorf("start %s: %w; %s", path, err, hint)
}

// grace returns the grace period to use for g.
func grace(g time.Duration) time.Duration {
	if g <= 0 {
		return DefaultGrace
	}
	return g
}

// copyOutput copies r to out until r ends, and closes the returned channel
// when it has. A failing out does not stop the copy: the child must never
// block on a full pipe, so its output is discarded from then on.
func copyOutput(out io.Writer, r *os.File) <-chan struct{} {
	if out == nil {
		out = io.Discard
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Hide ReaderFrom/WriterTo so the copy is a plain read loop that
		// the read deadline in drain can stop.
		io.Copy(&sink{w: out}, struct{ io.Reader }{r})
	}()
	return done
}

// sink passes writes to w until the first error, then discards them.
type sink struct {
	w   io.Writer
	err error
}

func (s *sink) Write(b []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
	return len(b), nil
}

// drain waits for the copy to reach the end of the output, but stops
// reading after drainTimeout: by then only a process outside the group
// can still hold the pipe open.
func drain(r *os.File, copied <-chan struct{}) {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		r.SetReadDeadline(time.Now())
		<-copied
	}
	r.Close()
}

// result turns the reaped process's state into a Result.
func result(ps *os.ProcessState, interrupted bool, duration time.Duration) Result {
	ws, _ := ps.Sys().(syscall.WaitStatus)
	var maxRSS int64
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		maxRSS = ru.Maxrss
	}
	return makeResult(ws, maxRSS, ps.UserTime(), ps.SystemTime(), interrupted, duration)
}

// result is how the program the shim ran ended.
func (e shimEnd) result(interrupted bool, duration time.Duration) Result {
	res := makeResult(syscall.WaitStatus(e.Status), e.MaxRSSKB, time.Duration(e.UserNS), time.Duration(e.SysNS), interrupted, duration)
	res.Leftovers = e.Killed
	return res
}

func makeResult(ws syscall.WaitStatus, maxRSSKB int64, user, sys time.Duration, interrupted bool, duration time.Duration) Result {
	res := Result{
		Interrupted: interrupted,
		Duration:    duration,
		UserTime:    user,
		SysTime:     sys,
		ExitCode:    ws.ExitStatus(),
		MaxRSS:      maxRSSKB * 1024, // Linux reports kilobytes
		state:       fmt.Sprintf("exit status %d", ws.ExitStatus()),
	}
	if ws.Signaled() {
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(res.Signal)
		res.state = "signal: " + res.Signal.String()
	}
	if interrupted && res.Signal == syscall.SIGKILL {
		res.ExitCode = 130
	}
	return res
}
