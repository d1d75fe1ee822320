package gitcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArgs(t *testing.T) {
	got := Args("/repo", "worktree", "add", "--detach", "/t", "abc")
	want := []string{"-c", "core.quotepath=off", "-c", "core.hooksPath=/dev/null", "-c", "color.ui=false", "--no-pager", "-C", "/repo", "worktree", "add", "--detach", "/t", "abc"}
	assert.Equal(t, want, got)
}

func TestEnv(t *testing.T) {
	got := Env([]string{"PATH=/bin", "GIT_DIR=/elsewhere/.git", "GIT_INDEX_FILE=/tmp/i", "GIT_WORK_TREE=/w", "GIT_COMMON_DIR=/c",
		"GIT_OBJECT_DIRECTORY=/o", "GIT_PREFIX=p/", "GIT_OPTIONAL_LOCKS=1", "GIT_AUTHOR_NAME=x"})
	sort.Strings(got)
	assert.Equal(t, []string{"GIT_AUTHOR_NAME=x", "GIT_OPTIONAL_LOCKS=0", "PATH=/bin"}, got)
}

// TestRun runs the real git: output, an error naming the command with git's
// message, and an outer GIT_DIR that must not redirect the call.
func TestRun(t *testing.T) {
	require.NoError(t, Available())
	dir := t.TempDir()
	require.NoError(t, exec.Command("git", "init", "-q", dir).Run())
	t.Setenv("GIT_DIR", filepath.Join(t.TempDir(), "elsewhere"))
	ctx := context.Background()

	t.Run("Output", func(t *testing.T) {
		top, err := Output(ctx, 10*time.Second, dir, "rev-parse", "--show-toplevel")
		require.NoError(t, err)
		want, _ := filepath.EvalSymlinks(dir)
		assert.Equal(t, want, top)
	})
	t.Run("ErrorCarriesStderr", func(t *testing.T) {
		_, err := Output(ctx, 10*time.Second, dir, "rev-parse", "--verify", "no-such-ref")
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "git rev-parse: exit status"), err.Error())
		assert.Contains(t, err.Error(), "fatal: Needed a single revision")
	})
	t.Run("Timeout", func(t *testing.T) {
		_, err := Output(ctx, time.Nanosecond, dir, "status")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("NotARepository", func(t *testing.T) {
		_, err := Output(ctx, 10*time.Second, os.TempDir(), "rev-parse", "--show-toplevel")
		assert.Error(t, err)
	})
}
