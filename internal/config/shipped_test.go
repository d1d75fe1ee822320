package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedExperimentsLoad loads every experiment in the repository's
// experiments/: a ready-made experiment with a typo would fail its users
// first.
func TestShippedExperimentsLoad(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "experiments", "*.yaml"))
	if len(files) < 4 {
		t.Fatalf("found %d experiments in %s, want default, gpu-check, digits-sklearn, distilbert-sentiment, ...", len(files), root)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			e, err := Load(root, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Requirements) == 0 {
				t.Errorf("%s names no requirements", name)
			}
		})
	}
}
