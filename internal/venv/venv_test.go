package venv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
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
			if err != nil {
				t.Fatalf("Ensure: %v\n%s", err, out.String())
			}
			pyImport(t, v.Python(), "six")
			if ok, h, _ := v.UpToDate(); !ok || h != hash {
				t.Fatalf("not up to date after a successful install")
			}

			out.Reset()
			if _, err := v.Ensure(context.Background(), &out); err != nil || out.Len() != 0 {
				t.Fatalf("second Ensure did work: %v %q", err, out.String())
			}

			writeReq(t, root, "six==1.16.0\nsix==1.16.0 ; python_version > '3'\n")
			if ok, _, _ := v.UpToDate(); ok {
				t.Fatal("changed requirements still count as up to date")
			}
			if _, err := v.Ensure(context.Background(), &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "setup: building") {
				t.Fatalf("no progress shown: %q", out.String())
			}
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
	if err == nil || !strings.Contains(err.Error(), "install requirements requirements.txt") || !strings.Contains(err.Error(), "retries") {
		t.Fatalf("err = %v", err)
	}
	if ok, _, _ := v.UpToDate(); ok {
		t.Fatal("a failed install is marked done")
	}
	// Fixing the requirement makes the next Ensure succeed in the same dir.
	writeReq(t, root, "six==1.16.0\n")
	if _, err := v.Ensure(context.Background(), &out); err != nil {
		t.Fatalf("retry after fixing: %v\n%s", err, out.String())
	}
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
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want InterruptedError\n%s", err, out.String())
	}
	if time.Since(start) > 60*time.Second {
		t.Fatalf("took %s to stop", time.Since(start))
	}
	if ok, _, _ := v.UpToDate(); ok {
		t.Fatal("an interrupted install is marked done")
	}
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
			if _, err := parent.Ensure(context.Background(), &out); err != nil {
				t.Fatalf("parent: %v\n%s", err, out.String())
			}
			// six is there; "tomli-w" is in neither interpreter and must be installed.
			writeReq(t, root, "six==1.15.0  # another version: used as it is\ntomli-w\n")
			v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"},
				BasePython: parent.Python(), SystemSite: true, Installer: installer}
			out.Reset()
			if _, err := v.Ensure(context.Background(), &out); err != nil {
				t.Fatalf("Ensure: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "have six 1.16.0") {
				t.Errorf("six from the parent not reported: %s", out.String())
			}
			loc := pyImport(t, v.Python(), "six")
			if !strings.HasPrefix(loc, parent.Dir) {
				t.Errorf("six imported from %s, want the parent venv %s", loc, parent.Dir)
			}
			if loc := pyImport(t, v.Python(), "tomli_w"); !strings.HasPrefix(loc, v.Dir) {
				t.Errorf("tomli_w imported from %s, want the new venv", loc)
			}
		})
	}
}

func TestVenvBadBase(t *testing.T) {
	root := t.TempDir()
	writeReq(t, root, "six\n")
	t.Run("PythonMissing", func(t *testing.T) {
		v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"requirements.txt"}, BasePython: "/nonexistent/python3"}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "MAGELAB_PYTHON") || !strings.Contains(err.Error(), "/nonexistent/python3") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("VenvCreationFails", func(t *testing.T) {
		// An interpreter whose venv module is broken, like a Debian python3
		// without python3-venv.
		fake := filepath.Join(root, "python3")
		os.WriteFile(fake, []byte("#!/bin/sh\necho 'The virtual environment was not created successfully because ensurepip is not available.' >&2\nexit 1\n"), 0o755)
		v := Venv{Dir: filepath.Join(root, "broken-venv"), Root: root, Requirements: []string{"requirements.txt"}, BasePython: fake, Installer: "pip"}
		var out bytes.Buffer
		_, err := v.Ensure(context.Background(), &out)
		if err == nil || !strings.Contains(err.Error(), "create venv "+v.Dir) || !strings.Contains(out.String(), "ensurepip is not available") {
			t.Fatalf("err = %v\n%s", err, out.String())
		}
		if ok, _, _ := v.UpToDate(); ok {
			t.Fatal("a venv that failed to build is marked done")
		}
	})
	t.Run("RequirementsFileMissing", func(t *testing.T) {
		v := Venv{Dir: filepath.Join(root, ".venv"), Root: root, Requirements: []string{"nope.txt"}}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "nope.txt") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("DirIsNotAVenv", func(t *testing.T) {
		dir := filepath.Join(root, "notvenv")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644)
		v := Venv{Dir: dir, Root: root, Requirements: []string{"requirements.txt"}, Installer: "pip"}
		_, err := v.Ensure(context.Background(), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "is not a Python venv") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
			t.Fatal("deleted a directory that was not a venv")
		}
	})
}

func writeReq(t *testing.T, root, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, "requirements.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pyImport imports module with python and returns the file it came from.
func pyImport(t *testing.T, python, module string) string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import "+module+"; print("+module+".__file__)").CombinedOutput()
	if err != nil {
		t.Fatalf("import %s: %v\n%s", module, err, out)
	}
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
			t.Fatal("uv is not on PATH in CI: .ci/run must install it")
		}
		t.Skip("uv not on PATH")
	}
}
