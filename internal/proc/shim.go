package proc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Every Command runs under a shim: magelab's own binary, started again
// (/proc/self/exe) with shimEnv set, which becomes a child subreaper
// (PR_SET_CHILD_SUBREAPER), starts the program and waits for it. Whatever
// the program leaves behind — in its process group or not: a daemon that
// called setsid, a double fork — is re-parented to the shim rather than to
// init, so the shim finds every descendant and kills it when the program
// ends. It does the same when magelab asks (a byte on the control pipe)
// and when magelab dies, even by SIGKILL: the control pipe then reads end
// of file. The shim reports how the program started and ended on the report
// pipe, so that Result describes the program, not the shim.

// shimEnv marks a process that is the shim; the program never sees it.
const shimEnv = "MAGELAB_PROC_SHIM"

// shimExe is how the shim is started: this very binary, even if the file
// was replaced since.
const shimExe = "/proc/self/exe"

// The shim's descriptors beside stdin, stdout and stderr.
const (
	controlFD = 3 // magelab → shim: a byte, or end of file, means kill everything now
	reportFD  = 4 // shim → magelab: shimStart, then shimEnd, one JSON line each
)

// cleanupWithin bounds how long the shim keeps killing what the program
// left behind (a process in uninterruptible sleep cannot be killed).
const cleanupWithin = 5 * time.Second

func init() {
	if os.Getenv(shimEnv) == "1" {
		os.Exit(shimMain(os.Args[1:]))
	}
}

// shimStart is the shim's first report: the program's pid, or why it could
// not be started.
type shimStart struct {
	PID   int    `json:"pid,omitempty"`
	Errno int    `json:"errno,omitempty"`
	Error string `json:"error,omitempty"`
}

// shimEnd is how the program ended, with its resource use (its own and that
// of the descendants it waited for), and how many leftovers were killed.
type shimEnd struct {
	Status   int   `json:"status"` // the raw wait status
	MaxRSSKB int64 `json:"maxrss_kb"`
	UserNS   int64 `json:"user_ns"`
	SysNS    int64 `json:"sys_ns"`
	Killed   int   `json:"killed"`
}

// shimMain runs the program args[1:] from the file args[0] and returns the
// shim's exit status: the program's, or 128+signal.
func shimMain(args []string) int {
	report := os.NewFile(reportFD, "report")
	control := os.NewFile(controlFD, "control")
	if report == nil || control == nil || len(args) < 2 {
		return 125
	}
	syscall.CloseOnExec(reportFD)
	syscall.CloseOnExec(controlFD)
	const prSetChildSubreaper = 36
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	child, err := os.StartProcess(args[0], args[1:], &os.ProcAttr{
		Env:   withoutVar(os.Environ(), shimEnv),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}, // should the shim itself be killed
	})
	if err != nil {
		var errno syscall.Errno
		errors.As(err, &errno)
		writeJSON(report, shimStart{Errno: int(errno), Error: err.Error()})
		return 127
	}
	writeJSON(report, shimStart{PID: child.Pid})
	go forwardSignals(sigs, child.Pid)
	var requested atomic.Bool
	onRequest := make(chan int, 1) // descendants besides the program killed when magelab asked
	go func() {
		b := make([]byte, 1)
		control.Read(b) // a byte, or end of file when magelab is gone
		requested.Store(true)
		onRequest <- killDescendants(map[Proc]bool{}) - 1
	}()
	ws, ru := waitFor(child.Pid)
	end := shimEnd{Status: int(ws), MaxRSSKB: ru.Maxrss, UserNS: ru.Utime.Nano(), SysNS: ru.Stime.Nano()}
	end.Killed = reapAll(cleanupWithin)
	if requested.Load() {
		end.Killed += max(<-onRequest, 0)
	}
	writeJSON(report, end)
	switch {
	case ws.Signaled():
		return 128 + int(ws.Signal())
	case ws.Exited():
		return ws.ExitStatus()
	}
	return 125
}

// forwardSignals passes the signals the shim gets on to the program when
// it left the shim's process group (those sent to the group reach it
// already).
func forwardSignals(sigs <-chan os.Signal, pid int) {
	for sig := range sigs {
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid != syscall.Getpgrp() {
			syscall.Kill(pid, sig.(syscall.Signal))
		}
	}
}

// waitFor reaps children until pid exits (orphans re-parented to the shim
// are reaped on the way) and returns its status and resource use.
func waitFor(pid int) (syscall.WaitStatus, syscall.Rusage) {
	for {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		got, err := syscall.Wait4(-1, &ws, 0, &ru)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			return ws, ru // ECHILD: it is gone already
		case got == pid:
			return ws, ru
		}
	}
}

// killDescendants sends SIGKILL to every live descendant of the shim and
// returns how many there were; seen, when set, keeps count across rounds.
func killDescendants(seen map[Proc]bool) int {
	n := 0
	for _, p := range Descendants(os.Getpid()) {
		if !p.Alive() {
			continue
		}
		if seen != nil && !seen[p] {
			seen[p] = true
			n++
		}
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
	return n
}

// reapAll kills and reaps every descendant left until none is, or until
// within has passed, and returns how many it killed. A shim without
// children has no descendants either (an orphan of the program is
// re-parented to the shim, its subreaper), so the common case — the
// program left nothing — costs one wait4 and no scan of /proc, which reads
// every process's stat (about 1.3 ms for 70 processes here, tens of ms on
// a busy cluster node).
func reapAll(within time.Duration) int {
	seen := map[Proc]bool{}
	killed := 0
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		if !reapExited() {
			return killed
		}
		killed += killDescendants(seen)
		if !reapExited() || time.Now().After(deadline) {
			return killed
		}
	}
}

// reapExited reaps the children that have exited and reports whether the
// shim still has any.
func reapExited() bool {
	for {
		pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.ECHILD):
			return false
		case errors.Is(err, syscall.EINTR):
		case err != nil || pid <= 0:
			return true
		}
	}
}

func writeJSON(f *os.File, v any) {
	b, _ := json.Marshal(v)
	f.Write(append(b, '\n'))
}

// withoutVar is env without key.
func withoutVar(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) <= len(key) || kv[:len(key)+1] != key+"=" {
			out = append(out, kv)
		}
	}
	return out
}

// shimPipes are magelab's ends of a shim's control and report pipes.
type shimPipes struct {
	control *os.File // write a byte, or close, to have the shim kill everything
	report  *bufio.Reader
	file    *os.File
}

// newShimPipes makes the pipes and returns the shim's ends, to pass as
// ExtraFiles and close once it has started.
func newShimPipes() (*shimPipes, []*os.File, error) {
	cr, cw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		cr.Close()
		cw.Close()
		return nil, nil, err
	}
	return &shimPipes{control: cw, report: bufio.NewReader(rr), file: rr}, []*os.File{cr, rw}, nil
}

// started reads the shim's first report: the program's pid, or the error
// that kept it from starting, as exec.Cmd.Start would have returned it.
func (s *shimPipes) started(path string) (int, error) {
	var st shimStart
	line, err := s.report.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &st)
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("the process supervisor did not start it: %w", err)
	case st.Errno != 0:
		return 0, &fs.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(st.Errno)}
	case st.Error != "":
		return 0, errors.New(st.Error)
	}
	return st.PID, nil
}

// ended reads the shim's last report; ok is false when the shim died
// without one (killed).
func (s *shimPipes) ended() (shimEnd, bool) {
	var end shimEnd
	line, err := s.report.ReadBytes('\n')
	return end, err == nil && json.Unmarshal(line, &end) == nil
}

// kill asks the shim to kill the program and everything it started.
func (s *shimPipes) kill() { s.control.Write([]byte{'K'}) }

func (s *shimPipes) close() {
	s.control.Close()
	s.file.Close()
}
