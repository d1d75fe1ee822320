package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShippedExperimentsLoad loads every experiment in the repository's
// experiments/: a ready-made experiment with a typo would fail its users
// first.
func TestShippedExperimentsLoad(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	files, _ := filepath.Glob(filepath.Join(root, "experiments", "*.yaml"))
	require.GreaterOrEqual(t, len(files), 4, "found %d experiments in %s, want default, gpu-check, digits-sklearn, distilbert-sentiment, ...", len(files), root)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			e, err := Load(root, name)
			require.NoError(t, err)
			assert.NotEmpty(t, e.Requirements, "%s names no requirements", name)
		})
	}
}
