package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGPUCheckWithTensorFlow runs gpu:check with experiments/gpu-check-tf.yaml
// in a venv that has TensorFlow next to PyTorch (its own venv, kept in
// .cache/test-venv-tf between test runs): both frameworks' checks run, on
// CPU here, and pass.
func TestGPUCheckWithTensorFlow(t *testing.T) {
	p := newProject(t)
	reqs := []string{"python/requirements.txt", "python/requirements-tf.txt"}
	v := venv.Venv{Dir: filepath.Join(repoRoot, ".cache", "test-venv-tf"), Root: repoRoot, Requirements: reqs}
	_, err := v.Ensure(context.Background(), os.Stderr)
	require.NoError(t, err)
	p.venv = v.Dir
	// The ready-made experiment, with smaller checks so that CPU takes seconds.
	r := p.mustMage("gpu:check", "-exp=gpu-check-tf", "-set=train.steps=30 train.matmul_repeats=3 train.cpu_matmul_size=512 train.batch_size=128 train.hidden=256")
	mustContain(t, r.out, "no GPU: the checks ran on CPU")
	for _, fw := range []string{"torch", "tensorflow"} {
		for _, check := range []string{"matmul_fp32", "train_loop"} {
			assert.Regexp(t, regexp.MustCompile(`(?mi)^\s*`+fw+`\s+`+check+`\s+(ok|pass)`), r.out, "%s %s did not pass:\n%s", fw, check, r.out)
		}
	}
}
