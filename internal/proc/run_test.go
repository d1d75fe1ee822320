package proc

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelperProcess is not a test: it is the child process that the other
// tests start by re-executing the test binary. The scenario follows "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "helper: no scenario after --")
		os.Exit(2)
	}
	os.Exit(procHelperMain(args[1], args[2:]))
}

// procHelperMain runs one scenario and returns the exit status.
func procHelperMain(scenario string, args []string) int {
	switch scenario {
	case "exit":
		code, _ := strconv.Atoi(args[0])
		return code
	case "kill":
		sig, _ := strconv.Atoi(args[0])
		syscall.Kill(os.Getpid(), syscall.Signal(sig))
		time.Sleep(time.Minute)
		return 3
	case "stdout-stderr":
		os.Stdout.WriteString("out1\n")
		os.Stderr.WriteString("err1\n")
		os.Stdout.WriteString("out2\n")
		os.Stderr.WriteString("err2\n")
		return 0
	case "hang":
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		return 3
	case "ignore-sigint":
		signal.Ignore(os.Interrupt)
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		return 3
	case "alloc":
		return procHelperAlloc(50 << 20)
	case "sleeper": // args: pidfile
		signal.Ignore(os.Interrupt)
		os.Stdout.WriteString("grandchild up\n")
		procWritePIDFile(args[0], os.Getpid())
		time.Sleep(time.Minute)
		return 3
	case "supervise": // args: pidfile: runs "parent pidfile escape-hang" under Run, as magelab runs a stage
		res, err := Run(context.Background(), procHelperCommand(procNewMarkerWriter(), "parent", args[0], "escape-hang"))
		fmt.Println(res, err)
		return 0
	case "parent": // args: pidfile, then "exit", "hang", "escape", "escape-hang" or "double"
		return procHelperParent(args[0], args[1])
	case "middle": // args: pidfile: starts a sleeper in a process group of its own and exits (a double fork)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "sleeper", args[0])
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return 2
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "helper: unknown scenario %q\n", scenario)
	return 2
}

// procHelperAlloc allocates n bytes and touches every page, so they count in RSS.
func procHelperAlloc(n int) int {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	return 0
}

// procHelperParent starts a sleeper grandchild that shares its output, waits
// until the grandchild has written its pid, then exits or hangs. With
// "escape" the grandchild leaves the process group (setsid) first.
func procHelperParent(pidfile, then string) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "sleeper", pidfile)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	switch then {
	case "escape", "escape-hang":
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	case "double":
		cmd.Args[3] = "middle"
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	if then == "double" {
		cmd.Wait() // the middle process exits at once: the sleeper is an orphan
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
	}
	os.Stdout.WriteString("ready\n")
	if then == "hang" || then == "escape-hang" {
		time.Sleep(time.Minute)
		return 3
	}
	return 0
}

// procWritePIDFile writes pid to path atomically, so readers never see half.
func procWritePIDFile(path string, pid int) {
	tmp := path + ".tmp"
	os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644)
	os.Rename(tmp, path)
}

// procHelperCommand returns a Command that runs the helper with scenario args.
func procHelperCommand(out *procMarkerWriter, args ...string) Command {
	return Command{
		Path:   os.Args[0],
		Args:   append([]string{"-test.run=^TestHelperProcess$", "--"}, args...),
		Env:    append(os.Environ(), "GO_WANT_HELPER_PROCESS=1"),
		Output: out,
	}
}

// procMarkerWriter collects output and closes ready when "ready\n" first
// appears in it, so a test can act once the child has set itself up.
type procMarkerWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func procNewMarkerWriter() *procMarkerWriter {
	return &procMarkerWriter{ready: make(chan struct{})}
}

func (m *procMarkerWriter) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(b)
	if bytes.Contains(m.buf.Bytes(), []byte("ready\n")) {
		m.once.Do(func() { close(m.ready) })
	}
	return len(b), nil
}

func (m *procMarkerWriter) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

// procCancelWhenReady cancels ctx once out has seen "ready\n", or after a long
// bound so a broken child cannot hang the test. It returns when it cancelled.
func procCancelWhenReady(t *testing.T, out *procMarkerWriter, cancel context.CancelFunc) <-chan time.Time {
	t.Helper()
	at := make(chan time.Time, 1)
	go func() {
		select {
		case <-out.ready:
		case <-time.After(60 * time.Second):
		}
		at <- time.Now()
		cancel()
	}()
	return at
}

// procMustReadPID reads the pid a sleeper wrote to path and arranges for the
// process to be killed when the test ends, whatever happens.
func procMustReadPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "grandchild pid")
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err, "grandchild pid %q", b)
	require.Greater(t, pid, 1, "grandchild pid %q: %v", b, err)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// procGone polls until pid no longer runs: it does not exist, or it is a
// zombie waiting for whichever process adopted it to reap it.
func procGone(pid int, within time.Duration) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
			if s := stat[i+2]; s == 'Z' || s == 'X' {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		grace  time.Duration
		cancel bool // cancel the context once the child prints "ready"
		want   Result
		output string        // exact output, if not empty
		min    time.Duration // Run takes at least this long after the cancel
		max    time.Duration // and returns within this
	}{
		{name: "ExitZero", args: []string{"exit", "0"}, want: Result{}},
		{name: "ExitNonZero", args: []string{"exit", "7"}, want: Result{ExitCode: 7}},
		{name: "KilledBySignal", args: []string{"kill", "9"},
			want: Result{ExitCode: 137, Signal: syscall.SIGKILL}},
		{name: "KilledBySIGTERM", args: []string{"kill", "15"},
			want: Result{ExitCode: 143, Signal: syscall.SIGTERM}},
		{name: "WritesToStderr", args: []string{"stdout-stderr"},
			want: Result{}, output: "out1\nerr1\nout2\nerr2\n"},
		{name: "InterruptedBySIGINT", args: []string{"hang"}, cancel: true,
			want: Result{ExitCode: 130, Signal: syscall.SIGINT, Interrupted: true}, max: 10 * time.Second},
		{name: "IgnoresSIGINT", args: []string{"ignore-sigint"}, cancel: true, grace: 300 * time.Millisecond,
			want: Result{ExitCode: 130, Signal: syscall.SIGKILL, Interrupted: true},
			min:  300 * time.Millisecond, max: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := procNewMarkerWriter()
			c := procHelperCommand(out, tt.args...)
			c.Grace = tt.grace
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var cancelled <-chan time.Time
			if tt.cancel {
				cancelled = procCancelWhenReady(t, out, cancel)
			}
			res, err := Run(ctx, c)
			end := time.Now()
			require.NoError(t, err, "Run")
			got := Result{ExitCode: res.ExitCode, Signal: res.Signal, Interrupted: res.Interrupted}
			assert.Equal(t, tt.want, got, "Run = %+v, want %+v (output %q)", got, tt.want, out.String())
			assert.Equal(t, tt.want == Result{}, res.OK(), "OK() = %v for %+v", res.OK(), got)
			if tt.output != "" {
				assert.Equal(t, tt.output, out.String(), "output")
			}
			assert.Positive(t, res.Duration, "Duration %v, CPU %v+%v: want all measured", res.Duration, res.UserTime, res.SysTime)
			assert.Positive(t, res.UserTime+res.SysTime, "Duration %v, CPU %v+%v: want all measured", res.Duration, res.UserTime, res.SysTime)
			if cancelled != nil {
				took := end.Sub(<-cancelled)
				assert.GreaterOrEqual(t, took, tt.min, "Run returned %v after the cancel, want between %v and %v", took, tt.min, tt.max)
				assert.LessOrEqual(t, took, tt.max, "Run returned %v after the cancel, want between %v and %v", took, tt.min, tt.max)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	t.Run("HangsUntilTimeout", func(t *testing.T) {
		t.Parallel()
		out := procNewMarkerWriter()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := Run(ctx, procHelperCommand(out, "hang"))
		took := time.Since(start)
		require.NoError(t, err, "Run")
		assert.True(t, res.Interrupted, "Run = %+v, want interrupted by SIGINT with exit code 130", res)
		assert.Equal(t, 130, res.ExitCode, "Run = %+v, want interrupted by SIGINT with exit code 130", res)
		assert.Equal(t, syscall.SIGINT, res.Signal, "Run = %+v, want interrupted by SIGINT with exit code 130", res)
		assert.GreaterOrEqual(t, took, 300*time.Millisecond, "Run took %v, want between the 300ms timeout and 10s", took)
		assert.LessOrEqual(t, took, 10*time.Second, "Run took %v, want between the 300ms timeout and 10s", took)
	})
	t.Run("AlreadyCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := Run(ctx, procHelperCommand(procNewMarkerWriter(), "exit", "0"))
		assert.ErrorIs(t, err, context.Canceled, "Run = %+v; want interrupted and context.Canceled", res)
		assert.True(t, res.Interrupted, "Run = %+v, %v; want interrupted and context.Canceled", res, err)
	})
}

func TestRunGrandchild(t *testing.T) {
	tests := []struct {
		name   string
		then   string // what the child does once the grandchild runs
		cancel bool
		want   Result
	}{
		{name: "GrandchildNotOrphaned", then: "exit", want: Result{}},
		{name: "GrandchildNotOrphanedOnCancel", then: "hang", cancel: true,
			want: Result{ExitCode: 130, Signal: syscall.SIGINT, Interrupted: true}},
		{name: "GrandchildInNewSessionKilled", then: "escape", want: Result{}},
		{name: "DoubleForkedGrandchildKilled", then: "double", want: Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
			out := procNewMarkerWriter()
			c := procHelperCommand(out, "parent", pidfile, tt.then)
			c.Grace = 30 * time.Second // the leader dies of SIGINT; Run must not wait for this
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				procCancelWhenReady(t, out, cancel)
			}
			start := time.Now()
			res, err := Run(ctx, c)
			took := time.Since(start)
			require.NoError(t, err, "Run")
			pid := procMustReadPID(t, pidfile)
			got := Result{ExitCode: res.ExitCode, Signal: res.Signal, Interrupted: res.Interrupted}
			assert.Equal(t, tt.want, got, "Run = %+v, want %+v (output %q)", got, tt.want, out.String())
			// The sleeper sleeps a minute and holds the output pipe.
			assert.LessOrEqual(t, took, 20*time.Second, "Run took %v, want it not to wait for the grandchild", took)
			assert.Contains(t, out.String(), "grandchild up\n", "output %q lacks the grandchild's line", out.String())
			assert.True(t, procGone(pid, 5*time.Second), "grandchild %d still runs after Run returned", pid)
		})
	}
}

func TestRunMaxRSS(t *testing.T) {
	res, err := Run(context.Background(), procHelperCommand(procNewMarkerWriter(), "alloc"))
	require.NoError(t, err, "Run = %+v", res)
	require.True(t, res.OK(), "Run = %+v, %v", res, err)
	assert.GreaterOrEqual(t, res.MaxRSS, int64(40<<20), "MaxRSS = %d bytes, want between 40 MiB and 4 GiB after touching 50 MiB", res.MaxRSS)
	assert.LessOrEqual(t, res.MaxRSS, int64(4<<30), "MaxRSS = %d bytes, want between 40 MiB and 4 GiB after touching 50 MiB", res.MaxRSS)
}

func TestRunStartErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.sh")
	require.NoError(t, os.WriteFile(plain, []byte("#!/bin/sh\necho hi\n"), 0o644))
	tool := filepath.Join(dir, "tool")
	require.NoError(t, os.WriteFile(tool, []byte("#!/bin/sh\necho hi\n"), 0o755))
	noShebang := filepath.Join(dir, "noshebang")
	require.NoError(t, os.WriteFile(noShebang, []byte("echo hi\n"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	tests := []struct {
		name  string
		c     Command
		is    error
		names string // the error message must contain this
		hint  string // and this advice
	}{
		{name: "NotFound", c: Command{Path: "magelab-no-such-tool"},
			is: exec.ErrNotFound, names: "magelab-no-such-tool", hint: "install it"},
		{name: "NotFoundAtPath", c: Command{Path: filepath.Join(dir, "missing")},
			is: fs.ErrNotExist, names: filepath.Join(dir, "missing"), hint: "install it"},
		{name: "NotExecutable", c: Command{Path: plain},
			is: fs.ErrPermission, names: plain, hint: "chmod +x"},
		{name: "NotExecutableOnPATH", c: Command{Path: "plain.sh", Env: []string{"PATH=" + dir}},
			is: fs.ErrPermission, names: plain, hint: "chmod +x"},
		{name: "DirectoryOnPATH", c: Command{Path: "sub", Env: []string{"PATH=" + dir}},
			is: exec.ErrNotFound, names: "sub", hint: "install it"},
		{name: "IsDirectory", c: Command{Path: filepath.Join(dir, "sub")},
			is: syscall.EISDIR, names: filepath.Join(dir, "sub"), hint: "inside it"},
		{name: "NotAProgram", c: Command{Path: noShebang},
			is: syscall.ENOEXEC, names: noShebang, hint: "#!"},
		{name: "MissingDir", c: Command{Path: "/bin/sh", Dir: filepath.Join(dir, "nodir")},
			is: fs.ErrNotExist, names: filepath.Join(dir, "nodir"), hint: "Command.Dir"},
		{name: "RelativePATHEntry", c: Command{Path: "tool", Env: []string{"PATH=.:/bin:/usr/bin"}, Dir: dir},
			is: exec.ErrDot, names: "tool", hint: "./name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), tt.c)
			require.ErrorIs(t, err, tt.is, "Run error = %v, want it to wrap %v", err, tt.is)
			msg := err.Error()
			assert.Contains(t, msg, tt.names, "Run error %q, want it to name %q and advise %q", msg, tt.names, tt.hint)
			assert.Contains(t, msg, tt.hint, "Run error %q, want it to name %q and advise %q", msg, tt.names, tt.hint)
			assert.Equal(t, Result{}, res, "Run = %+v, want a zero Result", res)
		})
	}
}

func TestRunUsesPATHFromEnv(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"tool $1 in $PWD\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "magelab-tool"), []byte(script), 0o755))
	var out bytes.Buffer
	env := append(os.Environ(), "PATH=/nowhere", "PATH="+dir) // the last PATH wins, as in the child
	res, err := Run(context.Background(), Command{Path: "magelab-tool", Args: []string{"x"}, Env: env, Dir: "/", Output: &out})
	require.NoError(t, err, "Run = %+v", res)
	require.True(t, res.OK(), "Run = %+v, %v", res, err)
	assert.Equal(t, "tool x in /\n", out.String(), "output")
}

// TestRunFindsAbsolutePATHEntriesFromAnyDir checks that an absolute PATH
// entry is looked up as it is, not under the child's working directory.
func TestRunFindsAbsolutePATHEntriesFromAnyDir(t *testing.T) {
	bin, wd := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "magelab-tool"), []byte("#!/bin/sh\necho found\n"), 0o755))
	var out bytes.Buffer
	res, err := Run(context.Background(), Command{Path: "magelab-tool", Env: append(os.Environ(), "PATH="+bin), Dir: wd, Output: &out})
	require.NoError(t, err)
	require.True(t, res.OK(), "Run = %+v", res)
	assert.Equal(t, "found\n", out.String())
}

// TestRunKillsEverythingWhenMagelabDies kills with SIGKILL a process that
// runs a command under Run, as magelab runs a stage, while the command and
// a grandchild that left its session run: both must die with it.
func TestRunKillsEverythingWhenMagelabDies(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	sup := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "supervise", pidfile)
	sup.Env = append(os.Environ(), "GO_WANT_HELPER_PROCESS=1")
	require.NoError(t, sup.Start())
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
	}
	pid := procMustReadPID(t, pidfile)
	parents := Descendants(sup.Process.Pid)
	require.NotEmpty(t, parents)
	require.NoError(t, sup.Process.Kill())
	sup.Wait()
	assert.True(t, procGone(pid, 5*time.Second), "the grandchild %d in a session of its own outlived the killed supervisor", pid)
	for _, p := range parents {
		assert.True(t, procGone(p.PID, 5*time.Second), "process %d under the killed supervisor still runs", p.PID)
	}
}
