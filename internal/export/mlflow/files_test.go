package mlflow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArtifactPath(t *testing.T) {
	for uri, want := range map[string]string{
		"mlflow-artifacts:/1/abc/artifacts":                                       "1/abc/artifacts",
		"mlflow-artifacts://host:5000/1/abc/artifacts":                            "1/abc/artifacts",
		"http://host:5000/api/2.0/mlflow-artifacts/artifacts/exp/1/abc/artifacts": "exp/1/abc/artifacts",
	} {
		got, ok := artifactPath(uri)
		assert.True(t, ok, uri)
		assert.Equal(t, want, got, uri)
	}
	for _, uri := range []string{"s3://bucket/1/abc/artifacts", "/srv/mlruns/1/abc/artifacts", "file:///srv/mlruns/1"} {
		_, ok := artifactPath(uri)
		assert.False(t, ok, uri)
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]Level{"": ArtifactsMeta, "none": ArtifactsNone, "META": ArtifactsMeta, "all": ArtifactsAll} {
		got, err := ParseLevel(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseLevel("models")
	assert.EqualError(t, err, "-artifacts=models: want none, meta (the run's record, logs and patch; the default) or all (its outputs too)")
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	for rel, size := range map[string]int{"run.json": 10, "params.yaml": 5, "git.patch": 7, "logs/train.log": 3, "untracked/notes.txt": 2, "out/model.bin": 2000, "out/big.bin": 5000, "eval/metrics.json": 4} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(strings.Repeat("x", size)), 0o644))
	}
	paths := func(fs []file) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	none, _ := runFiles(dir, ArtifactsNone, 0)
	assert.Empty(t, none)
	meta, warnings := runFiles(dir, ArtifactsMeta, 0)
	assert.Empty(t, warnings)
	assert.Equal(t, []string{"git.patch", "logs/train.log", "params.yaml", "run.json", "untracked/notes.txt"}, paths(meta))
	all, warnings := runFiles(dir, ArtifactsAll, 4096)
	assert.Equal(t, []string{"eval/metrics.json", "git.patch", "logs/train.log", "out/model.bin", "params.yaml", "run.json", "untracked/notes.txt"}, paths(all))
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "artifact out/big.bin (0.0 MiB) is over the 0.0 MiB cap")
	for _, f := range all {
		assert.Equal(t, f.Path == "run.json", f.Changes, f.Path)
		assert.Len(t, f.Sum, 64, f.Path)
	}
	t.Run("LargeFileCountsByItsTime", func(t *testing.T) {
		big := filepath.Join(dir, "out", "big.bin")
		require.NoError(t, os.WriteFile(big, make([]byte, hashLimit+1), 0o644))
		all, _ := runFiles(dir, ArtifactsAll, 0)
		for _, f := range all {
			if f.Path == "out/big.bin" {
				assert.True(t, strings.HasPrefix(f.Sum, "mtime:"), f.Sum)
			}
		}
	})
}
