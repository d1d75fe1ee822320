package config

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testRoot returns the absolute path of the fixture project testdata/<scenario>.
func testRoot(tb testing.TB, scenario string) string {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("testdata", scenario))
	require.NoError(tb, err)
	return root
}

// MustLoad loads an experiment or fails the test.
func MustLoad(tb testing.TB, root, name string) *Experiment {
	tb.Helper()
	e, err := Load(root, name)
	require.NoError(tb, err, "Load(%s, %s)", root, name)
	return e
}

// copyTree copies the fixture project testdata/<scenario> into a fresh
// temporary directory, for tests that modify files.
func copyTree(tb testing.TB, scenario string) string {
	tb.Helper()
	src := testRoot(tb, scenario)
	dst := tb.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(tb, err)
	return dst
}

// writeFile writes content to root/rel, creating directories.
func writeFile(tb testing.TB, root, rel, content string) {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(tb, os.WriteFile(p, []byte(content), 0o644))
}

// errText returns err's message with root replaced by $ROOT.
func errText(err error, root string) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), root, "$ROOT")
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
