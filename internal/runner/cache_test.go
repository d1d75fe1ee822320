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
)

func TestHashCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	os.WriteFile(p, []byte("one"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	c := LoadHashCache(filepath.Join(dir, "cache.json"))
	first, err := c.HashFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	t.Run("UnchangedStatIsNotReread", func(t *testing.T) {
		// Same size and mtime, other content: a stat cache must trust the stat.
		os.WriteFile(p, []byte("two"), 0o644)
		os.Chtimes(p, old, old)
		c2 := LoadHashCache(filepath.Join(dir, "cache.json"))
		got, _ := c2.HashFile(p)
		if got != first {
			t.Fatalf("re-hashed a file whose stat did not change")
		}
	})
	t.Run("ChangedMtimeIsRehashed", func(t *testing.T) {
		newer := old.Add(time.Minute)
		os.Chtimes(p, newer, newer)
		got, _ := c.HashFile(p)
		if got == first {
			t.Fatalf("hash did not change after the file changed")
		}
	})
	t.Run("RecentlyModifiedIsNotTrusted", func(t *testing.T) {
		q := filepath.Join(dir, "g.txt")
		os.WriteFile(q, []byte("aaa"), 0o644)
		a, _ := c.HashFile(q)
		st, _ := os.Stat(q)
		os.WriteFile(q, []byte("bbb"), 0o644)
		os.Chtimes(q, st.ModTime(), st.ModTime())
		b, _ := c.HashFile(q)
		if a == b {
			t.Fatalf("trusted the hash of a file modified within the racy window")
		}
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
			if err != nil {
				t.Error(err)
			}
			entries[i] = e
		}()
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("computed %d times, want once", runs.Load())
	}
	cached := 0
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(e.Out, "data.txt")); err != nil || string(b) != "x" {
			t.Fatalf("entry %+v: %v", e, err)
		}
		if e.Cached {
			cached++
		}
	}
	if cached != 3 {
		t.Fatalf("%d entries reused, want 3", cached)
	}
}

func TestStageCacheFailureLeavesNothing(t *testing.T) {
	c := StageCache{Dir: t.TempDir()}
	_, err := c.Compute(context.Background(), "prep", "kfail456789abcdef", io.Discard, func(out, log string) error {
		os.WriteFile(filepath.Join(out, "half.txt"), []byte("x"), 0o644)
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("want error")
	}
	if _, ok := c.Lookup("prep", "kfail456789abcdef"); ok {
		t.Fatal("a failed stage is marked done")
	}
	left, _ := filepath.Glob(filepath.Join(c.Dir, "prep", "*"))
	for _, p := range left {
		if filepath.Ext(p) != ".lock" {
			t.Fatalf("left behind %s", p)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	t.Run("TouchedButSameContentIsValid", func(t *testing.T) {
		future := time.Now().Add(time.Hour)
		os.Chtimes(filepath.Join(e.Out, "1"), future, future)
		if _, ok := c.Lookup("prep", "kchange789abcdef"); !ok {
			t.Fatal("a touched file with the same content invalidated the cache")
		}
	})
	t.Run("EditedIsInvalid", func(t *testing.T) {
		os.WriteFile(filepath.Join(e.Out, "2"), []byte("DATA"), 0o644)
		if _, ok := c.Lookup("prep", "kchange789abcdef"); ok {
			t.Fatal("an edited output still counts as up to date")
		}
	})
	t.Run("DeletedIsInvalid", func(t *testing.T) {
		os.Remove(filepath.Join(e.Out, "0"))
		if _, ok := c.Lookup("prep", "kchange789abcdef"); ok {
			t.Fatal("a deleted output still counts as up to date")
		}
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
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	for _, bad := range []string{"not json\n", `{"key":"k"}` + "\n1\t2\tsum\n", `{"key":"k"}` + "\nx\t2\tsum\tp\n"} {
		if _, err := parseManifest([]byte(bad)); err == nil {
			t.Errorf("parsed malformed manifest %q", bad)
		}
	}
}
