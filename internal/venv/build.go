package venv

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
)

//go:embed missing.py
var missingScript []byte

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

// prepareDir makes sure Dir is a complete venv built on base with the
// right settings: one with a ready marker is reused, its marker removed
// before anything in it changes; any other is built afresh. A venv without
// a marker is one whose build did not finish (a kill -9 in the middle of
// ensurepip leaves a venv without pip) or that magelab did not make: it is
// never reused.
func (v Venv) prepareDir(ctx context.Context, base, uv string, useUV bool, out io.Writer) error {
	m, hasMarker := v.Marker()
	_, cfgErr := os.Stat(filepath.Join(v.Dir, "pyvenv.cfg"))
	_, pyErr := os.Stat(v.Python())
	if hasMarker && cfgErr == nil && pyErr == nil && m.BasePython == v.basePython() && m.SystemSite == v.SystemSite {
		return v.unmark()
	}
	if !hasMarker && cfgErr == nil {
		fmt.Fprintf(out, "setup: %s has no ready marker (a build that did not finish, or a venv magelab did not make): building it afresh\n", v.Dir)
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

// unmark removes the ready marker of a venv about to be changed, so that an
// install cut short leaves a venv that is rebuilt, never one that is
// trusted half-updated.
func (v Venv) unmark() error {
	if err := os.Remove(filepath.Join(v.Dir, MarkerName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("update venv %s: %w", v.Dir, err)
	}
	return durable.SyncDir(v.Dir)
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
