package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
	require.NoError(t, err, "pytest: %v\n%s", err, out)
	t.Logf("pytest:\n%s", out)
}
