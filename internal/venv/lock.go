package venv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/magelab/magelab/internal/durable"
)

// LockPath is the file beside the venv that processes building it lock:
// DIR.lock. It is left in place (removing a lock file others may hold open
// would let two builds run at once).
func (v Venv) LockPath() string { return filepath.Clean(v.Dir) + ".lock" }

// lock takes the venv's build lock (flock on LockPath), waiting while
// another process holds it, and writes this process's pid into it for
// those who wait. It gives up when ctx ends.
func (v Venv) lock(ctx context.Context, out io.Writer) (unlock func(), err error) {
	path := v.LockPath()
	f, err := durable.Lock(ctx, path, func() {
		fmt.Fprintf(out, "setup: waiting for another magelab%s that is building %s\n", holder(path), v.Dir)
	})
	switch {
	case ctx.Err() != nil && err != nil:
		return nil, fmt.Errorf("wait for the build of venv %s: %w", v.Dir, err)
	case err != nil:
		return nil, fmt.Errorf("lock venv %s (%s): %w", v.Dir, path, err)
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
