package durable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "marker.json")
	require.NoError(t, WriteFile(path, []byte("old")))
	require.NoError(t, WriteFile(path, []byte("new")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left beside %s", path)
}

// TestWriteFileSyncsBeforeAndAfterRename: the new content is synced while
// the old file still stands, and the directory after the rename, so that a
// power cut leaves the old content or the new, never an empty file.
func TestWriteFileSyncsBeforeAndAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "marker.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	var seen []string
	syncFile = func(f *os.File) error {
		b, _ := os.ReadFile(path)
		seen = append(seen, filepath.Base(f.Name())+" while "+string(b))
		return f.Sync()
	}
	t.Cleanup(func() { syncFile = (*os.File).Sync })
	require.NoError(t, WriteFile(path, []byte("new")))
	require.Len(t, seen, 2, "the file and its directory are synced: %q", seen)
	assert.Regexp(t, `^\.marker\.json\.tmp-\d+ while old$`, seen[0], "the temporary file is synced before it replaces the old one")
	assert.Equal(t, filepath.Base(dir)+" while new", seen[1], "the directory is synced after the rename")
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	err := WriteFile(filepath.Join(file, "below", "marker.json"), []byte("new"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "create "+filepath.Join(file, "below"))
	b, _ := os.ReadFile(file)
	assert.Equal(t, "x", string(b), "a failed write leaves what was there")
}
