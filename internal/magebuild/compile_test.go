package magebuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentCompiles builds this repository's targets three times at
// once, as e2e and e2e/slurm do at start-up: without the lock, Mage's
// builds remove each other's mage_output_file.go.
func TestConcurrentCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds magelab three times")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			errs[i] = Compile(context.Background(), root, filepath.Join(dir, "bin", string(rune('a'+i))), nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "build %d", i)
		out, err := exec.Command(filepath.Join(dir, "bin", string(rune('a'+i))), "-l").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "train")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "bin", "*.new"))
	assert.Empty(t, left, "temporary binaries left behind")
	_, err = os.Stat(filepath.Join(root, "magefiles", "mage_output_file.go"))
	assert.True(t, os.IsNotExist(err), "mage_output_file.go left in magefiles/")
}

func TestCompileFailureNamesTheRoot(t *testing.T) {
	dir := t.TempDir()
	err := Compile(context.Background(), dir, filepath.Join(dir, "magelab"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "go tool mage -compile")
	assert.Contains(t, err.Error(), dir)
	_, statErr := os.Stat(filepath.Join(dir, "magelab"))
	assert.True(t, os.IsNotExist(statErr), "no binary after a failed build")
}
