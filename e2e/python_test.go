package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPythonScripts runs the Python smoke tests (python/tests) with the
// shared venv: every stage script on tiny data, on CPU.
func TestPythonScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the shared venv")
	}
	cmd := exec.Command(filepath.Join(sharedVenv, "bin", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pytest: %v\n%s", err, out)
	}
	t.Logf("pytest:\n%s", out)
}
