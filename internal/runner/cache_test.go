package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	os.WriteFile(p, []byte("one"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	c := LoadHashCache(filepath.Join(dir, "cache.json"))
	first, err := c.HashFile(p)
	require.NoError(t, err)
	require.NoError(t, c.Save())
	t.Run("UnchangedStatIsNotReread", func(t *testing.T) {
		// Same size and mtime, other content: a stat cache must trust the stat.
		os.WriteFile(p, []byte("two"), 0o644)
		os.Chtimes(p, old, old)
		c2 := LoadHashCache(filepath.Join(dir, "cache.json"))
		got, _ := c2.HashFile(p)
		require.Equal(t, first, got, "re-hashed a file whose stat did not change")
	})
	t.Run("ChangedMtimeIsRehashed", func(t *testing.T) {
		newer := old.Add(time.Minute)
		os.Chtimes(p, newer, newer)
		got, _ := c.HashFile(p)
		require.NotEqual(t, first, got, "hash did not change after the file changed")
	})
	t.Run("RecentlyModifiedIsNotTrusted", func(t *testing.T) {
		q := filepath.Join(dir, "g.txt")
		os.WriteFile(q, []byte("aaa"), 0o644)
		a, _ := c.HashFile(q)
		st, _ := os.Stat(q)
		os.WriteFile(q, []byte("bbb"), 0o644)
		os.Chtimes(q, st.ModTime(), st.ModTime())
		b, _ := c.HashFile(q)
		require.NotEqual(t, a, b, "trusted the hash of a file modified within the racy window")
	})
}

func TestStageCacheComputeOnce(t *testing.T) {
	c := StageCache{Dir: t.TempDir()}
	var runs atomic.Int32
	var wg sync.WaitGroup
	entries := make([]Entry, 4)
	for i := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.Compute(context.Background(), "prep", "k0123456789abcdef", io.Discard, func(out, log string) error {
				runs.Add(1)
				time.Sleep(300 * time.Millisecond)
				return os.WriteFile(filepath.Join(out, "data.txt"), []byte("x"), 0o644)
			})
			assert.NoError(t, err)
			entries[i] = e
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), runs.Load(), "times computed, want once")
	cached := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(e.Out, "data.txt"))
		require.NoError(t, err, "entry %+v", e)
		require.Equal(t, "x", string(b), "entry %+v", e)
		if e.Cached {
			cached++
		}
	}
	require.Equal(t, 3, cached, "entries reused")
}

func TestStageCacheFailureLeavesNothing(t *testing.T) {
	c := StageCache{Dir: t.TempDir()}
	_, err := c.Compute(context.Background(), "prep", "kfail456789abcdef", io.Discard, func(out, log string) error {
		os.WriteFile(filepath.Join(out, "half.txt"), []byte("x"), 0o644)
		return errors.New("boom")
	})
	require.Error(t, err, "want error")
	_, ok := c.Lookup("prep", "kfail456789abcdef")
	require.False(t, ok, "a failed stage is marked done")
	left, _ := filepath.Glob(filepath.Join(c.Dir, "prep", "*"))
	for _, p := range left {
		require.Equal(t, ".lock", filepath.Ext(p), "left behind %s", p)
	}
}

func TestStageCacheDetectsChangedOutput(t *testing.T) {
	c := StageCache{Dir: t.TempDir()}
	compute := func(out, log string) error {
		for i := 0; i < 3; i++ {
			os.WriteFile(filepath.Join(out, fmt.Sprint(i)), []byte("data"), 0o644)
		}
		return nil
	}
	e, err := c.Compute(context.Background(), "prep", "kchange789abcdef", io.Discard, compute)
	require.NoError(t, err)
	t.Run("TouchedButSameContentIsValid", func(t *testing.T) {
		future := time.Now().Add(time.Hour)
		os.Chtimes(filepath.Join(e.Out, "1"), future, future)
		_, ok := c.Lookup("prep", "kchange789abcdef")
		require.True(t, ok, "a touched file with the same content invalidated the cache")
	})
	t.Run("EditedIsInvalid", func(t *testing.T) {
		os.WriteFile(filepath.Join(e.Out, "2"), []byte("DATA"), 0o644)
		_, ok := c.Lookup("prep", "kchange789abcdef")
		require.False(t, ok, "an edited output still counts as up to date")
	})
	t.Run("DeletedIsInvalid", func(t *testing.T) {
		os.Remove(filepath.Join(e.Out, "0"))
		_, ok := c.Lookup("prep", "kchange789abcdef")
		require.False(t, ok, "a deleted output still counts as up to date")
	})
}

func TestManifestRoundTrip(t *testing.T) {
	m := manifest{Stage: "prep", Key: "k", Computed: time.Unix(10, 0).UTC(), Files: []manifestFile{
		{Path: "plain.txt", Size: 3, MtimeNS: 42, Sum: "abc"},
		{Path: "tab\tand\nnewline", Size: 0, MtimeNS: -1, Sum: "def"},
		{Path: `"quoted"`, Size: 1 << 40, MtimeNS: 7, Sum: "0"},
		{Path: "dir/ünïcode file", Size: 5, MtimeNS: 8, Sum: "1"},
	}}
	got, err := parseManifest(m.encode())
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(m), fmt.Sprint(got), "round trip")
	for _, bad := range []string{"not json\n", `{"key":"k"}` + "\n1\t2\tsum\n", `{"key":"k"}` + "\nx\t2\tsum\tp\n"} {
		_, err := parseManifest([]byte(bad))
		assert.Error(t, err, "parsed malformed manifest %q", bad)
	}
}
