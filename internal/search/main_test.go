package search

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// helperPython and helperScript are the real helper, in a venv built once
// per machine (hash-skipped) under the repository's .cache/, or where
// MAGELAB_OPTUNA_VENV says.
var helperPython, helperScriptPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir := os.Getenv("MAGELAB_OPTUNA_VENV")
		if dir == "" {
			wd, _ := os.Getwd()
			dir = filepath.Join(wd, "..", "..", ".cache", "test-venv-optuna")
		}
		var err error
		helperPython, helperScriptPath, err = EnsureVenv(context.Background(), Venv(dir, "", ""), os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "search:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// needHelper skips a test in -short mode, which builds no venv.
func needHelper(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real Optuna helper")
	}
}
