package venv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakePython writes a python3 whose `-m venv DIR` makes a venv-looking
// directory (pyvenv.cfg and bin/python), counts the builds in COUNT and,
// like ensurepip, leaves a child of its own running: with HANG set it then
// hangs before the venv is complete, as a kill -9 in the middle finds it.
func fakePython(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python3")
	script := `#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  for dir; do :; done
  mkdir -p "$dir/bin"
  echo "home = /usr/bin" > "$dir/pyvenv.cfg"
  cp "$0" "$dir/bin/python"
  echo build >> "$COUNT"
  sleep 300 &
  echo $! > "$dir.ensurepip.tmp" && mv "$dir.ensurepip.tmp" "$dir.ensurepip"
  if [ -n "$HANG" ]; then sleep 300; fi
  sleep "${BUILD_SECONDS:-0}"
  kill $!
  exit 0
fi
exit 0
`
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

// TestVenvHelperProcess is not a test: it is a magelab that builds a venv
// with the fake python, for the kill -9 test to kill.
func TestVenvHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_VENV_HELPER") != "1" {
		return
	}
	v := Venv{Dir: os.Getenv("VENV_DIR"), Root: os.Getenv("VENV_ROOT"), BasePython: os.Getenv("VENV_PYTHON"), Installer: "pip"}
	_, err := v.Ensure(context.Background(), os.Stdout)
	fmt.Println("helper:", err)
	os.Exit(0)
}

func builds(t *testing.T, count string) int {
	b, _ := os.ReadFile(count)
	return strings.Count(string(b), "build")
}

// TestVenvKilledDuringCreation kills magelab with SIGKILL while the venv is
// being created and ensurepip's child runs: the child must not outlive it,
// and the next build must start afresh rather than reuse the half-made venv.
func TestVenvKilledDuringCreation(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".venv")
	python := fakePython(t)
	count := filepath.Join(root, "count")
	helper := exec.Command(os.Args[0], "-test.run=^TestVenvHelperProcess$")
	helper.Env = append(os.Environ(), "GO_WANT_VENV_HELPER=1", "VENV_DIR="+dir, "VENV_ROOT="+root, "VENV_PYTHON="+python, "COUNT="+count, "HANG=1")
	var out bytes.Buffer
	helper.Stdout, helper.Stderr = &out, &out
	require.NoError(t, helper.Start())
	pidfile := dir + ".ensurepip"
	var pid int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && pid == 0; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	require.Positive(t, pid, "the venv build never started:\n%s", out.String())
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, helper.Process.Kill())
	helper.Wait()
	assert.True(t, gone(pid, 5*time.Second), "ensurepip's child %d outlived the magelab that was killed", pid)

	require.FileExists(t, filepath.Join(dir, "pyvenv.cfg"), "the killed build left no half-made venv: the test proves nothing")
	t.Setenv("COUNT", count)
	v := Venv{Dir: dir, Root: root, BasePython: python, Installer: "pip"}
	out.Reset()
	_, err := v.Ensure(context.Background(), &out)
	require.NoError(t, err, "%s", out.String())
	assert.Equal(t, 2, builds(t, count), "the half-made venv was reused instead of rebuilt:\n%s", out.String())
	assert.Contains(t, out.String(), "has no ready marker")
	_, ok := v.Marker()
	assert.True(t, ok, "no ready marker after the rebuild")
}

// TestVenvWithoutMarkerIsRebuilt: a venv directory without a ready marker
// is built afresh, with requirements or without (with none, the marker was
// once written on such a venv as it was).
func TestVenvWithoutMarkerIsRebuilt(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".venv")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pyvenv.cfg"), []byte("home = /usr/bin\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "python"), []byte("#!/bin/sh\n"), 0o755))
	count := filepath.Join(root, "count")
	t.Setenv("COUNT", count)
	v := Venv{Dir: dir, Root: root, BasePython: fakePython(t), Installer: "pip"}
	var out bytes.Buffer
	_, err := v.Ensure(context.Background(), &out)
	require.NoError(t, err, "%s", out.String())
	assert.Equal(t, 1, builds(t, count), "a venv without a ready marker was reused:\n%s", out.String())
}

// TestVenvConcurrentFirstRuns: eight processes that need the same new venv
// at once build it once; the others wait and use it.
func TestVenvConcurrentFirstRuns(t *testing.T) {
	root := t.TempDir()
	count := filepath.Join(root, "count")
	t.Setenv("COUNT", count)
	t.Setenv("BUILD_SECONDS", "1")
	v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, BasePython: fakePython(t), Installer: "pip"}
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 8)
	errs := make([]error, 8)
	for i := range outs {
		wg.Go(func() { _, errs[i] = v.Ensure(context.Background(), &outs[i]) })
	}
	wg.Wait()
	var all strings.Builder
	for i := range outs {
		require.NoError(t, errs[i], "%s", outs[i].String())
		all.WriteString(outs[i].String())
	}
	assert.Equal(t, 1, builds(t, count), "concurrent first runs built the venv more than once:\n%s", all.String())
	assert.Contains(t, all.String(), "setup: waiting for another magelab (pid ")
	assert.Contains(t, all.String(), "was built by another magelab meanwhile")
}

// gone polls until pid no longer runs (or is a zombie).
func gone(pid int, within time.Duration) bool {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
			return true
		}
	}
	return false
}
