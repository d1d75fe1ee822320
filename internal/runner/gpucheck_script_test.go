package runner

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/gpu"
)

// TestCheckScript: magelab's repository runs its own check scripts; any
// other repository runs the embedded copies, written under .magelab/.
func TestCheckScript(t *testing.T) {
	t.Run("OtherRepository", func(t *testing.T) {
		root := t.TempDir()
		p := NewProject(root, Settings{}, io.Discard)
		script, pythonPath, err := p.checkScript(gpu.Script{Framework: gpu.Torch, Path: gpu.TorchScript})
		require.NoError(t, err)
		dir := filepath.Join(root, ".magelab", "gpu-check", "python")
		assert.Equal(t, filepath.Join(dir, "gpu", "check_torch.py"), script)
		assert.Equal(t, dir, pythonPath)
		for _, f := range []string{"lab.py", "gpu/__init__.py", "gpu/check_torch.py", "gpu/check_tf.py"} {
			got, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join("..", "..", "python", f))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "%s is magelab's", f)
		}
	})
	t.Run("MagelabsOwn", func(t *testing.T) {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		require.NoError(t, err)
		p := NewProject(root, Settings{}, io.Discard)
		script, pythonPath, err := p.checkScript(gpu.Script{Framework: gpu.Torch, Path: gpu.TorchScript})
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "python", "gpu", "check_torch.py"), script)
		assert.Equal(t, filepath.Join(root, "python"), pythonPath)
	})
}
