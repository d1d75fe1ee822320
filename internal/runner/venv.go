package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
)

//go:embed missing.py
var missingScript []byte

// markerName is the file in the venv that says which requirements it holds.
// It is written only after a successful install.
const markerName = ".magelab-requirements.json"

// Venv says how to build the project venv.
type Venv struct {
	Dir          string   // the venv directory
	Root         string   // project root; Requirements are relative to it
	Requirements []string // requirements files
	BasePython   string   // interpreter to build on; "" means python3
	SystemSite   bool     // use the base interpreter's packages, install only what is missing
	Installer    string   // "uv", "pip", or "" / "auto": uv when on PATH
}

type venvMarker struct {
	Hash       string `json:"hash"`
	BasePython string `json:"base_python"`
	SystemSite bool   `json:"system_site"`
	Installed  string `json:"installed"`
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
	m, ok := v.readMarker()
	if !ok || m.Hash != hash {
		return false, hash, nil
	}
	if _, err := os.Stat(v.Python()); err != nil {
		return false, hash, nil
	}
	return true, hash, nil
}

func (v Venv) readMarker() (venvMarker, bool) {
	var m venvMarker
	b, err := os.ReadFile(filepath.Join(v.Dir, markerName))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

// Ensure builds or updates the venv when its requirements changed and
// returns the requirements hash. out receives the installer's output.
func (v Venv) Ensure(ctx context.Context, out io.Writer) (string, error) {
	ok, hash, err := v.UpToDate()
	if err != nil || ok {
		return hash, err
	}
	base, err := exec.LookPath(v.basePython())
	if err != nil {
		return "", fmt.Errorf("python interpreter %q not found: install Python 3.9 or newer, or set MAGELAB_PYTHON=/path/to/python3 (%w)", v.basePython(), err)
	}
	uv, useUV, err := v.installer()
	if err != nil {
		return "", err
	}
	start := time.Now()
	fmt.Fprintf(out, "setup: building %s from %s with %s (requirements changed or venv missing)\n", v.Dir, base, map[bool]string{true: "uv", false: "pip"}[useUV])
	stop := heartbeat(out, "setup: still installing", 15*time.Second)
	defer stop()
	if err := v.prepareDir(ctx, base, uv, useUV, out); err != nil {
		return "", err
	}
	if err := v.install(ctx, uv, useUV, out); err != nil {
		return "", err
	}
	m := venvMarker{Hash: hash, BasePython: v.basePython(), SystemSite: v.SystemSite, Installed: time.Now().UTC().Format(time.RFC3339)}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := durable.WriteFileAtomic(filepath.Join(v.Dir, markerName), b); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "setup: %s ready in %s\n", v.Dir, time.Since(start).Round(100*time.Millisecond))
	return hash, nil
}

// installer picks uv or pip.
func (v Venv) installer() (uvPath string, useUV bool, err error) {
	uv, lookErr := exec.LookPath("uv")
	switch v.Installer {
	case "pip":
		return "", false, nil
	case "uv":
		if lookErr != nil {
			return "", false, fmt.Errorf("installer uv was asked for but is not on PATH: install it (pip install uv) or set MAGELAB_INSTALLER=pip")
		}
		return uv, true, nil
	case "", "auto":
		return uv, lookErr == nil, nil
	}
	return "", false, fmt.Errorf("unknown installer %q: use uv, pip or auto", v.Installer)
}

// prepareDir makes sure Dir is a venv built on base with the right
// settings, recreating it when it is broken or was built differently.
func (v Venv) prepareDir(ctx context.Context, base, uv string, useUV bool, out io.Writer) error {
	m, hasMarker := v.readMarker()
	_, cfgErr := os.Stat(filepath.Join(v.Dir, "pyvenv.cfg"))
	_, pyErr := os.Stat(v.Python())
	reuse := cfgErr == nil && pyErr == nil && (!hasMarker || (m.BasePython == v.basePython() && m.SystemSite == v.SystemSite))
	if reuse {
		return nil
	}
	if err := v.removeOld(cfgErr == nil || hasMarker); err != nil {
		return err
	}
	var c proc.Command
	if useUV {
		args := []string{"venv", "--python", base}
		if v.SystemSite {
			args = append(args, "--system-site-packages")
		}
		c = proc.Command{Path: uv, Args: append(args, v.Dir), Env: append(os.Environ(), "UV_PYTHON_DOWNLOADS=never")}
	} else {
		args := []string{"-m", "venv"}
		if v.SystemSite {
			args = append(args, "--system-site-packages")
		}
		c = proc.Command{Path: base, Args: append(args, v.Dir)}
	}
	c.Output = out
	if err := runStep(ctx, c, "create venv "+v.Dir); err != nil {
		os.RemoveAll(v.Dir)
		return err
	}
	if v.SystemSite {
		return v.linkParent(ctx, base)
	}
	return nil
}

// removeOld removes a broken or differently-built venv, refusing to delete
// a directory that is not a venv.
func (v Venv) removeOld(isVenv bool) error {
	entries, err := os.ReadDir(v.Dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if !isVenv {
		return fmt.Errorf("%s exists and is not a Python venv: move it away, or point MAGELAB_VENV at another directory", v.Dir)
	}
	if err := os.RemoveAll(v.Dir); err != nil {
		return fmt.Errorf("remove old venv %s: %w", v.Dir, err)
	}
	return nil
}

// linkParent makes the new venv see the site-packages of its base
// interpreter when that interpreter is itself a venv: a venv made with
// --system-site-packages only sees the base installation's packages, never
// those of a venv it was made from (GPU images ship torch in such a venv).
func (v Venv) linkParent(ctx context.Context, base string) error {
	const probe = `import json, site, sys; print(json.dumps({"venv": sys.prefix != sys.base_prefix, "site": site.getsitepackages()}))`
	parent, err := pythonJSON(ctx, base, probe)
	if err != nil {
		return fmt.Errorf("inspect base interpreter %s: %w", base, err)
	}
	if isVenv, _ := parent["venv"].(bool); !isVenv {
		return nil
	}
	own, err := pythonJSON(ctx, v.Python(), `import json, site; print(json.dumps({"site": site.getsitepackages()}))`)
	if err != nil {
		return fmt.Errorf("inspect new venv %s: %w", v.Dir, err)
	}
	ownSite := stringsOf(own["site"])
	if len(ownSite) == 0 {
		return fmt.Errorf("new venv %s reports no site-packages directory", v.Dir)
	}
	pth := strings.Join(stringsOf(parent["site"]), "\n") + "\n"
	return os.WriteFile(filepath.Join(ownSite[0], "_magelab_parent.pth"), []byte(pth), 0o644)
}

// install installs the requirements: all of them, or with SystemSite only
// those the environment lacks.
func (v Venv) install(ctx context.Context, uv string, useUV bool, out io.Writer) error {
	if len(v.Requirements) == 0 {
		return nil
	}
	var files []string
	for _, r := range v.Requirements {
		files = append(files, filepath.Join(v.Root, r))
	}
	reqArgs := func() []string {
		var a []string
		for _, f := range files {
			a = append(a, "-r", f)
		}
		return a
	}()
	if v.SystemSite {
		missing, err := v.missing(ctx, files, out)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			fmt.Fprintln(out, "setup: every requirement is already installed in the base interpreter")
			return nil
		}
		reqArgs = missing
	}
	var c proc.Command
	if useUV {
		// uv does not write .pyc files unless asked; without them every
		// stage pays for compiling torch on import (twice as slow here).
		c = proc.Command{Path: uv, Args: append([]string{"pip", "install", "--compile-bytecode", "--python", v.Python()}, reqArgs...), Env: append(os.Environ(), "UV_PYTHON_DOWNLOADS=never")}
	} else {
		c = proc.Command{Path: v.Python(), Args: append([]string{"-m", "pip", "install", "--disable-pip-version-check"}, reqArgs...)}
	}
	c.Output = out
	return runStep(ctx, c, "install requirements "+strings.Join(v.Requirements, ", "))
}

// missing lists the requirement lines whose package the venv cannot import.
func (v Venv) missing(ctx context.Context, files []string, out io.Writer) ([]string, error) {
	script := filepath.Join(v.Dir, "magelab-missing.py")
	if err := os.WriteFile(script, missingScript, 0o644); err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	c := proc.Command{Path: v.Python(), Args: append([]string{script}, files...), Output: &stdout}
	if err := runStep(ctx, c, "check installed packages"); err != nil {
		return nil, err
	}
	var missing []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "have ") {
			fmt.Fprintf(out, "setup: %s (from the base interpreter)\n", line)
		} else if line != "" {
			missing = append(missing, line)
		}
	}
	return missing, nil
}

// runStep runs one setup command and turns a failure into an error that
// says what failed.
func runStep(ctx context.Context, c proc.Command, what string) error {
	res, err := proc.Run(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.Interrupted {
		return &InterruptedError{What: what}
	}
	if !res.OK() {
		return fmt.Errorf("%s: %s exited with status %d (see its output above); the venv is not marked ready, so the next run retries", what, filepath.Base(c.Path), res.ExitCode)
	}
	return nil
}

func pythonJSON(ctx context.Context, python, code string) (map[string]any, error) {
	var buf bytes.Buffer
	if err := runStep(ctx, proc.Command{Path: python, Args: []string{"-c", code}, Output: &buf}, python); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &out); err != nil {
		return nil, fmt.Errorf("unexpected output %q: %w", buf.String(), err)
	}
	return out, nil
}

func stringsOf(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// heartbeat prints msg with the elapsed time every interval until stopped,
// so a long silent install does not look hung.
func heartbeat(out io.Writer, msg string, every time.Duration) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(out, "%s (%s)\n", msg, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}
