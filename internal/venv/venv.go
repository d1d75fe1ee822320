package venv

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/magelab/magelab/internal/durable"
)

// Venv says how to build the project venv.
type Venv struct {
	Dir          string   // the venv directory
	Root         string   // project root; Requirements are relative to it
	Requirements []string // requirements files
	BasePython   string   // interpreter to build on; "" means python3
	SystemSite   bool     // use the base interpreter's packages, install only what is missing
	Installer    string   // "uv", "pip", or "" / "auto": uv when on PATH
}

// Python is the venv's interpreter.
func (v Venv) Python() string { return filepath.Join(v.Dir, "bin", "python") }

// Hash is the requirements hash: the requirements files' contents, the base
// interpreter asked for and whether its packages are used. It reads no
// process, so the up-to-date check stays fast.
func (v Venv) Hash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "base=%s\nsystem_site=%t\n", v.basePython(), v.SystemSite)
	for _, r := range v.Requirements {
		b, err := os.ReadFile(filepath.Join(v.Root, r))
		if err != nil {
			return "", fmt.Errorf("read requirements %s: %w (fix the experiment's requirements: list)", r, err)
		}
		fmt.Fprintf(h, "file=%s len=%d\n", r, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (v Venv) basePython() string {
	if v.BasePython == "" {
		return "python3"
	}
	return v.BasePython
}

// UpToDate reports whether the venv holds exactly the current requirements.
func (v Venv) UpToDate() (bool, string, error) {
	hash, err := v.Hash()
	if err != nil {
		return false, "", err
	}
	m, ok := v.Marker()
	if !ok || m.Hash != hash {
		return false, hash, nil
	}
	if _, err := os.Stat(v.Python()); err != nil {
		return false, hash, nil
	}
	return true, hash, nil
}

// Ensure builds or updates the venv when its requirements changed and
// returns the requirements hash. out receives the installer's output.
// Processes that need the same venv at once share one build: they take its
// lock (LockPath) in turn, and those that waited find it ready.
func (v Venv) Ensure(ctx context.Context, out io.Writer) (string, error) {
	ok, hash, err := v.UpToDate()
	if err != nil || ok {
		return hash, err
	}
	unlock, err := v.lock(ctx, out)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ok, hash, err = v.UpToDate(); err != nil || ok {
		if ok {
			fmt.Fprintf(out, "setup: %s was built by another magelab meanwhile\n", v.Dir)
		}
		return hash, err
	}
	return hash, v.build(ctx, hash, out)
}

// build creates or updates the venv and writes its marker, the lock held.
func (v Venv) build(ctx context.Context, hash string, out io.Writer) error {
	base, err := exec.LookPath(v.basePython())
	if err != nil {
		return fmt.Errorf("python interpreter %q not found: install Python 3.9 or newer, or set MAGELAB_PYTHON=/path/to/python3 (%w)", v.basePython(), err)
	}
	uv, useUV, err := v.installer()
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(out, "setup: building %s from %s with %s (requirements changed or venv missing)\n", v.Dir, base, installerName(useUV))
	stop := heartbeat(out, "setup: still installing", 15*time.Second)
	defer stop()
	if err := v.prepareDir(ctx, base, uv, useUV, out); err != nil {
		return err
	}
	if err := v.install(ctx, uv, useUV, out); err != nil {
		return err
	}
	m := Marker{Hash: hash, BasePython: v.basePython(), SystemSite: v.SystemSite, Installed: time.Now().UTC().Format(time.RFC3339)}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := durable.WriteFile(filepath.Join(v.Dir, MarkerName), b); err != nil {
		return err
	}
	fmt.Fprintf(out, "setup: %s ready in %s\n", v.Dir, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// installerName names the installer in status lines.
func installerName(useUV bool) string {
	if useUV {
		return "uv"
	}
	return "pip"
}
