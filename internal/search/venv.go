package search

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/venv"
)

//go:embed requirements.txt
var requirements []byte

//go:embed helper.py
var helperScript []byte

// helperFile is helper.py's name inside the helper venv.
const helperFile = "magelab-optuna-helper.py"

// Venv is the helper's venv in dir: the pinned optuna (and cmaes) of
// requirements.txt, built and hash-skipped like the project's venv. Its
// requirements file is written beside dir (dir + "-requirements.txt"),
// since venv.Venv reads its requirements from files. base is the
// interpreter to build on ("" for python3) and installer uv, pip or "".
func Venv(dir, base, installer string) venv.Venv {
	return venv.Venv{Dir: dir, Root: filepath.Dir(dir), Requirements: []string{filepath.Base(dir) + "-requirements.txt"},
		BasePython: base, Installer: installer}
}

// EnsureVenv builds v when its requirements changed and puts helper.py in
// it; it returns the helper's interpreter and script. out receives the
// installer's output.
func EnsureVenv(ctx context.Context, v venv.Venv, out io.Writer) (python, script string, err error) {
	// Two sweeps (or two test packages) may start at once: both write the
	// same files atomically, and venv.Ensure's build lock makes one build.
	if err := writeIfChanged(filepath.Join(v.Root, v.Requirements[0]), requirements); err != nil {
		return "", "", fmt.Errorf("optuna helper venv: %w", err)
	}
	if _, err := v.Ensure(ctx, out); err != nil {
		return "", "", fmt.Errorf("optuna helper venv %s: %w", v.Dir, err)
	}
	script = filepath.Join(v.Dir, helperFile)
	if err := writeIfChanged(script, helperScript); err != nil {
		return "", "", fmt.Errorf("optuna helper: %w", err)
	}
	return v.Python(), script, nil
}

// writeIfChanged writes b to path unless the file already holds it.
func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return durable.WriteFile(path, b)
}
