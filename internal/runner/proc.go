package runner

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
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/pgroup"
)

// DefaultGrace is how long Run waits between SIGINT and SIGKILL when a
// Command sets no Grace. It stays below Mage's 5s cleanup window so that a
// Ctrl-C'd target still gets to kill its children and write its records.
const DefaultGrace = 3 * time.Second

// procDrainTimeout bounds how long Run keeps reading output once every
// process in the group is dead: a process that escaped the group (setsid)
// may hold the pipe open for ever, and Run must not wait for it.
const procDrainTimeout = 2 * time.Second

// Command is one child process to run in its own process group. Its
// standard input is /dev/null.
type Command struct {
	Path   string        // executable; looked up on the PATH in Env (else the current PATH) when it has no slash
	Args   []string      // arguments after the executable
	Env    []string      // full environment; nil means os.Environ()
	Dir    string        // working directory; empty means the current one
	Output io.Writer     // receives stdout and stderr merged, in order; nil discards them
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
}

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
	cmd, err := procCommand(c)
	if err != nil {
		return Result{}, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("start %s: create output pipe: %w", c.Path, err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	err = cmd.Start()
	w.Close() // the child holds its own copy; ours would keep the pipe open
	if err != nil {
		r.Close()
		return Result{}, procStartError(c.Path, err)
	}
	copied := procCopy(c.Output, r)
	pid := cmd.Process.Pid
	if c.OnStart != nil {
		c.OnStart(pid)
	}
	interrupted := procWait(ctx, pid, procGrace(c.Grace))
	duration := time.Since(start)
	// The leader is an unreaped zombie here, so its pid, which is the group
	// id, cannot have been reused: the kill reaches only its own leftovers.
	syscall.Kill(-pid, syscall.SIGKILL)
	waitErr := cmd.Wait()
	procDrain(r, copied)
	if cmd.ProcessState == nil {
		return Result{Interrupted: interrupted, Duration: duration}, fmt.Errorf("wait for %s: %w", c.Path, waitErr)
	}
	return procResult(cmd.ProcessState, interrupted, duration), nil
}

// procCommand builds the exec.Cmd for c without starting it.
func procCommand(c Command) (*exec.Cmd, error) {
	if c.Path == "" {
		return nil, errors.New("start: empty Command.Path; name the executable to run")
	}
	if c.Dir != "" {
		if _, err := os.Stat(c.Dir); err != nil {
			return nil, fmt.Errorf("start %s in %s: %w; create the directory or fix Command.Dir", c.Path, c.Dir, err)
		}
	}
	path, err := procLookPath(c.Path, c.Env, c.Dir)
	if err != nil {
		return nil, procStartError(c.Path, err)
	}
	return &exec.Cmd{
		Path: path,
		Args: append([]string{c.Path}, c.Args...),
		Env:  c.Env,
		Dir:  c.Dir,
		// Pdeathsig: a magelab killed with SIGKILL cannot stop its
		// children, so the kernel does (a sweep resumed after kill -9
		// must not race the old trials).
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}, nil
}

// procLookPath finds file like exec.LookPath, but on the PATH that the child
// will get, so that a virtual environment's bin directory in env counts.
// Relative PATH entries are refused, as exec.LookPath refuses them, and a
// file that exists but cannot be executed is reported as such rather than as
// "not found".
func procLookPath(file string, env []string, wd string) (string, error) {
	if strings.Contains(file, "/") {
		if fi, err := os.Stat(filepath.Join(wd, file)); err == nil && fi.IsDir() {
			return "", &fs.PathError{Op: "exec", Path: file, Err: syscall.EISDIR}
		}
		return file, nil // anything else is for execve to judge
	}
	path, ok := procEnvValue(env, "PATH")
	if !ok {
		path = os.Getenv("PATH")
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, file)
		err := procExecutable(filepath.Join(wd, candidate))
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

// procEnvValue returns the last value of key in env, as the child sees it.
// A nil env means the child inherits ours.
func procEnvValue(env []string, key string) (string, bool) {
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

// procExecutable reports whether path is a file this process may execute.
func procExecutable(path string) error {
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

// procStartError names the command, keeps the cause and says what to do.
func procStartError(path string, err error) error {
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

// procGrace returns the grace period to use for g.
func procGrace(g time.Duration) time.Duration {
	if g <= 0 {
		return DefaultGrace
	}
	return g
}

// procCopy copies r to out until r ends, and closes the returned channel
// when it has. A failing out does not stop the copy: the child must never
// block on a full pipe, so its output is discarded from then on.
func procCopy(out io.Writer, r *os.File) <-chan struct{} {
	if out == nil {
		out = io.Discard
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Hide ReaderFrom/WriterTo so the copy is a plain read loop that
		// the read deadline in procDrain can stop.
		io.Copy(&procSink{w: out}, struct{ io.Reader }{r})
	}()
	return done
}

// procSink passes writes to w until the first error, then discards them.
type procSink struct {
	w   io.Writer
	err error
}

func (s *procSink) Write(b []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
	return len(b), nil
}

// procDrain waits for the copy to reach the end of the output, but stops
// reading after procDrainTimeout: by then only a process outside the group
// can still hold the pipe open.
func procDrain(r *os.File, copied <-chan struct{}) {
	t := time.NewTimer(procDrainTimeout)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		r.SetReadDeadline(time.Now())
		<-copied
	}
	r.Close()
}

// procWait blocks until the process pid has exited, without reaping it, and
// reports whether ctx ended first. When it did, the group gets SIGINT and,
// if the leader outlives grace, SIGKILL.
func procWait(ctx context.Context, pid int, grace time.Duration) (interrupted bool) {
	exited := make(chan struct{})
	go func() {
		pgroup.WaitExited(pid)
		close(exited)
	}()
	select {
	case <-exited:
		return false
	case <-ctx.Done():
	}
	select {
	case <-exited: // it had exited on its own by the time we looked
		return false
	default:
	}
	syscall.Kill(-pid, syscall.SIGINT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-exited
	return true
}

// procResult turns the reaped process's state into a Result.
func procResult(ps *os.ProcessState, interrupted bool, duration time.Duration) Result {
	res := Result{
		Interrupted: interrupted,
		Duration:    duration,
		UserTime:    ps.UserTime(),
		SysTime:     ps.SystemTime(),
		ExitCode:    ps.ExitCode(),
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = ru.Maxrss * 1024 // Linux reports kilobytes
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal()
		res.ExitCode = 128 + int(res.Signal)
	}
	if interrupted && res.Signal == syscall.SIGKILL {
		res.ExitCode = 130
	}
	return res
}
