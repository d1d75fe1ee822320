package venv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockPath is the file beside the venv that processes building it lock:
// DIR.lock. It is left in place (removing a lock file others may hold open
// would let two builds run at once).
func (v Venv) LockPath() string { return filepath.Clean(v.Dir) + ".lock" }

// lockPoll is how often a process waiting for another's build looks again.
const lockPoll = 100 * time.Millisecond

// lock takes the venv's build lock (flock on LockPath), waiting while
// another process holds it, and writes this process's pid into it for
// those who wait. It gives up when ctx ends.
func (v Venv) lock(ctx context.Context, out io.Writer) (unlock func(), err error) {
	path := v.LockPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock venv %s: %w", v.Dir, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock venv %s: %w", v.Dir, err)
	}
	for waited := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("lock venv %s (%s): %w", v.Dir, path, err)
		}
		if !waited {
			waited = true
			fmt.Fprintf(out, "setup: waiting for another magelab%s that is building %s\n", holder(path), v.Dir)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the build of venv %s: %w", v.Dir, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}

// holder names the process that wrote its pid into the lock file.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
		return fmt.Sprintf(" (pid %d)", pid)
	}
	return ""
}
