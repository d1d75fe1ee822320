package venv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build real venvs with real packages from PyPI. They use small
// packages so that the pip path, which has no cache as fast as uv's, stays
// quick; the default experiment's torch venv is exercised by the e2e tests.

func TestVenvInstallers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real venvs")
	}
	for _, installer := range []string{"pip", "uv"} {
		t.Run(installer, func(t *testing.T) {
			needUV(t, installer)
			root := t.TempDir()
			writeReq(t, root, "six==1.16.0\n")
			v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"}, Installer: installer}
			var out bytes.Buffer
			hash, err := v.Ensure(context.Background(), &out)
			require.NoError(t, err, "Ensure\n%s", out.String())
			pyImport(t, v.Python(), "six")
			ok, h, _ := v.UpToDate()
			require.True(t, ok, "not up to date after a successful install")
			require.Equal(t, hash, h, "not up to date after a successful install")

			out.Reset()
			_, err = v.Ensure(context.Background(), &out)
			require.NoError(t, err, "second Ensure")
			require.Empty(t, out.String(), "second Ensure did work")

			writeReq(t, root, "six==1.16.0\nsix==1.16.0 ; python_version > '3'\n")
			ok, _, _ = v.UpToDate()
			require.False(t, ok, "changed requirements still count as up to date")
			_, err = v.Ensure(context.Background(), &out)
			require.NoError(t, err)
			require.Contains(t, out.String(), "setup: building", "no progress shown")
		})
	}
}

func TestVenvFailedInstallIsNotMarkedDone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real venvs")
	}
	root := t.TempDir()
	writeReq(t, root, "magelab-there-is-no-such-package-xyz==9.9.9\n")
	v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"}, Installer: "pip"}
	var out bytes.Buffer
	_, err := v.Ensure(context.Background(), &out)
	require.ErrorContains(t, err, "install requirements requirements.txt")
	require.ErrorContains(t, err, "retries")
	ok, _, _ := v.UpToDate()
	require.False(t, ok, "a failed install is marked done")
	// Fixing the requirement makes the next Ensure succeed in the same dir.
	writeReq(t, root, "six==1.16.0\n")
	_, err = v.Ensure(context.Background(), &out)
	require.NoError(t, err, "retry after fixing\n%s", out.String())
}

func TestVenvInterruptedInstallIsNotMarkedDone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real venvs")
	}
	root := t.TempDir()
	// A local package whose build hangs: the install is still running when
	// the context is cancelled, like a Ctrl-C in the middle of pip.
	pkg := filepath.Join(root, "slowpkg")
	os.MkdirAll(pkg, 0o755)
	os.WriteFile(filepath.Join(pkg, "setup.py"), []byte("import time\ntime.sleep(120)\nfrom setuptools import setup\nsetup(name='slowpkg', version='0.1')\n"), 0o644)
	writeReq(t, root, "./slowpkg\n")
	v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"}, Installer: "pip"}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Wait until the venv exists and pip is busy building.
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(v.Python()); err == nil {
				time.Sleep(3 * time.Second)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	var out bytes.Buffer
	old, _ := os.Getwd()
	os.Chdir(root) // pip resolves ./slowpkg against the working directory
	defer os.Chdir(old)
	_, err := v.Ensure(ctx, &out)
	var ie *proc.InterruptedError
	require.ErrorAs(t, err, &ie, "want InterruptedError\n%s", out.String())
	took := time.Since(start)
	require.LessOrEqual(t, took, 60*time.Second, "took %s to stop", took)
	ok, _, _ := v.UpToDate()
	require.False(t, ok, "an interrupted install is marked done")
}

// TestVenvOnExistingInterpreter builds the venv on an interpreter that is
// itself a venv holding the packages, as on GPU images where torch lives in
// /opt/…/.venv: the new venv must see those packages and install none of them.
func TestVenvOnExistingInterpreter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds real venvs")
	}
	for _, installer := range []string{"pip", "uv"} {
		t.Run(installer, func(t *testing.T) {
			needUV(t, installer)
			root := t.TempDir()
			parent := Venv{Dir: filepath.Join(root, "parent"), Root: root, Requirements: []string{"parent.txt"}, Installer: installer}
			os.WriteFile(filepath.Join(root, "parent.txt"), []byte("six==1.16.0\n"), 0o644)
			var out bytes.Buffer
			_, err := parent.Ensure(context.Background(), &out)
			require.NoError(t, err, "parent\n%s", out.String())
			// six is there; "tomli-w" is in neither interpreter and must be installed.
			writeReq(t, root, "six==1.15.0  # another version: used as it is\ntomli-w\n")
			v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"},
				BasePython: parent.Python(), SystemSite: true, Installer: installer}
			out.Reset()
			_, err = v.Ensure(context.Background(), &out)
			require.NoError(t, err, "Ensure\n%s", out.String())
			assert.Contains(t, out.String(), "have six 1.16.0", "six from the parent not reported")
			loc := pyImport(t, v.Python(), "six")
			assert.True(t, strings.HasPrefix(loc, parent.Dir), "six imported from %s, want the parent venv %s", loc, parent.Dir)
			loc = pyImport(t, v.Python(), "tomli_w")
			assert.True(t, strings.HasPrefix(loc, v.Dir), "tomli_w imported from %s, want the new venv", loc)
		})
	}
}

func TestVenvBadBase(t *testing.T) {
	root := t.TempDir()
	writeReq(t, root, "six\n")
	t.Run("PythonMissing", func(t *testing.T) {
		v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"}, BasePython: "/nonexistent/python3"}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		require.ErrorContains(t, err, "MAGELAB_PYTHON")
		require.ErrorContains(t, err, "/nonexistent/python3")
	})
	t.Run("VenvCreationFails", func(t *testing.T) {
		// An interpreter whose venv module is broken, like a Debian python3
		// without python3-venv.
		fake := filepath.Join(root, "python3")
		os.WriteFile(fake, []byte("#!/bin/sh\necho 'The virtual environment was not created successfully because ensurepip is not available.' >&2\nexit 1\n"), 0o755)
		v := Venv{Dir: filepath.Join(root, "broken-venv"), Root: root, Requirements: []string{"requirements.txt"}, BasePython: fake, Installer: "pip"}
		var out bytes.Buffer
		_, err := v.Ensure(context.Background(), &out)
		require.ErrorContains(t, err, "create venv "+v.Dir, "output:\n%s", out.String())
		require.Contains(t, out.String(), "ensurepip is not available", "err = %v", err)
		ok, _, _ := v.UpToDate()
		require.False(t, ok, "a venv that failed to build is marked done")
	})
	t.Run("RequirementsFileMissing", func(t *testing.T) {
		v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"nope.txt"}}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		require.ErrorContains(t, err, "nope.txt")
	})
	t.Run("DirIsNotAVenv", func(t *testing.T) {
		dir := filepath.Join(root, "notvenv")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644)
		v := Venv{Dir: dir, Root: root, Requirements: []string{"requirements.txt"}, Installer: "pip"}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		require.ErrorContains(t, err, "is not a Python venv")
		_, err = os.Stat(filepath.Join(dir, "precious.txt"))
		require.NoError(t, err, "deleted a directory that was not a venv")
	})
}

func writeReq(t *testing.T, root, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(root, "requirements.txt"), []byte(content), 0o644))
}

// pyImport imports module with python and returns the file it came from.
func pyImport(t *testing.T, python, module string) string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import "+module+"; print("+module+".__file__)").CombinedOutput()
	require.NoError(t, err, "import %s\n%s", module, out)
	p, _ := filepath.EvalSymlinks(strings.TrimSpace(string(out)))
	return p
}

// needUV skips the uv case when uv is missing, except in CI, which installs it.
func needUV(t *testing.T, installer string) {
	t.Helper()
	if installer != "uv" {
		return
	}
	if _, err := exec.LookPath("uv"); err != nil {
		if os.Getenv("CI") != "" {
			require.FailNow(t, "uv is not on PATH in CI: .ci/run must install it")
		}
		t.Skip("uv not on PATH")
	}
}
