package proc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunTrackedKillsEscapedDescendants: a server that starts a worker in a
// session of its own (as BentoML does) and is then interrupted leaves no
// process behind, although the group signal never reached the worker.
func TestRunTrackedKillsEscapedDescendants(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "worker.pid")
	// The "server" ignores SIGINT, so that Run has to SIGKILL it: its worker
	// is then orphaned, as when BentoML's arbiter is killed.
	script := `trap '' INT; setsid sleep 60 & echo $! > ` + pidFile + `; while :; do sleep 0.1; done`
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 200; i++ {
			if b, err := os.ReadFile(pidFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
				time.Sleep(3 * treePoll) // let the tracker see it
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	var left int
	res, err := RunTracked(ctx, Command{Path: "/bin/sh", Args: []string{"-c", script}, Grace: 200 * time.Millisecond}, func(n int) { left = n })
	require.NoError(t, err, "RunTracked = %+v", res)
	require.True(t, res.Interrupted, "RunTracked = %+v, %v", res, err)
	b, _ := os.ReadFile(pidFile)
	worker, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err, "worker pid %q", b)
	assert.GreaterOrEqual(t, left, 1, "leftovers reported %d, want at least the worker", left)
	alive := Alive(worker, 0)
	if alive {
		exec.Command("kill", "-9", strconv.Itoa(worker)).Run()
	}
	require.False(t, alive, "worker %d outlived RunTracked", worker)
}
