package runner

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// StageCache stores data stages' outputs by stage key under
// .magelab/cache/<stage>/<key>/: the output directory, the stage log and a
// manifest of the output files with their size, mtime and hash.
type StageCache struct {
	Dir string
}

// Entry is one cached stage output.
type Entry struct {
	Dir    string // .magelab/cache/<stage>/<key>
	Out    string // the stage's OUTPUT_DIR
	Log    string // the log of the run that computed it
	Cached bool   // reused rather than computed now
}

func (c StageCache) entry(stage, key string) Entry {
	dir := filepath.Join(c.Dir, stage, key)
	return Entry{Dir: dir, Out: filepath.Join(dir, "out"), Log: filepath.Join(dir, "stage.log")}
}

// Lookup returns the cached output of stage at key when it exists and its
// files are as they were written. Files are compared by size and mtime and
// re-hashed only when those changed, so an up-to-date check over thousands
// of output files reads no file content.
func (c StageCache) Lookup(stage, key string) (Entry, bool) {
	e := c.entry(stage, key)
	b, err := os.ReadFile(filepath.Join(e.Dir, manifestName))
	if err != nil {
		return e, false
	}
	m, err := parseManifest(b)
	if err != nil || m.Key != key {
		return e, false
	}
	if !allIntact(e.Out, m.Files) {
		return e, false
	}
	e.Cached = true
	return e, true
}

// allIntact checks the files with a few goroutines: stat calls dominate and
// overlap well.
func allIntact(dir string, files []manifestFile) bool {
	const workers = 4
	var bad atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(files) && !bad.Load(); i += workers {
				if !files[i].intact(filepath.Join(dir, files[i].Path)) {
					bad.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return !bad.Load()
}

func (f manifestFile) intact(p string) bool {
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() != f.Size {
		return false
	}
	if st.ModTime().UnixNano() == f.MtimeNS {
		return true
	}
	sum, err := hashFile(p)
	return err == nil && sum == f.Sum
}

// Compute returns the cached output of stage at key, or runs compute to make
// it. compute writes into a fresh directory that becomes the entry only when
// it succeeds, so a failed or interrupted stage leaves nothing that looks
// done. When another process is computing the same key, Compute waits for it
// and reuses its output.
func (c StageCache) Compute(ctx context.Context, stage, key string, status io.Writer, compute func(out, log string) error) (Entry, error) {
	if e, ok := c.Lookup(stage, key); ok {
		return e, nil
	}
	unlock, err := c.lock(ctx, stage, key, status)
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	if e, ok := c.Lookup(stage, key); ok {
		return e, nil
	}
	e := c.entry(stage, key)
	tmp, err := os.MkdirTemp(filepath.Dir(e.Dir), key+".tmp-") // the key names its lock: see Project.Tidy
	if err != nil {
		return e, fmt.Errorf("stage cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return e, err
	}
	if err := compute(out, filepath.Join(tmp, "stage.log")); err != nil {
		return e, err
	}
	if err := writeManifest(tmp, stage, key); err != nil {
		return e, err
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		return e, fmt.Errorf("stage cache: replace stale %s: %w", e.Dir, err)
	}
	if err := os.Rename(tmp, e.Dir); err != nil {
		return e, fmt.Errorf("stage cache: %w", err)
	}
	return e, nil
}

func writeManifest(dir, stage, key string) error {
	m := manifest{Stage: stage, Key: key, Computed: time.Now().UTC()}
	out := filepath.Join(dir, "out")
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		sum, err := hashFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		m.Files = append(m.Files, manifestFile{Path: rel, Size: st.Size(), MtimeNS: st.ModTime().UnixNano(), Sum: sum})
		return nil
	})
	if err != nil {
		return fmt.Errorf("stage cache: list outputs of %s: %w", stage, err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	return durable.WriteFile(filepath.Join(dir, manifestName), m.encode())
}

// lock takes the per-key lock; ctx can cancel the wait.
func (c StageCache) lock(ctx context.Context, stage, key string, status io.Writer) (func(), error) {
	f, err := durable.Lock(ctx, filepath.Join(c.Dir, stage, key+".lock"), func() {
		fmt.Fprintf(status, "%s: another magelab process is computing this stage (key %s); waiting for it\n", stage, record.ShortKey(key))
	})
	switch {
	case ctx.Err() != nil && err != nil:
		return nil, &proc.InterruptedError{What: "waiting for stage " + stage}
	case err != nil:
		return nil, fmt.Errorf("stage cache lock: %w", err)
	}
	return func() { f.Close() }, nil
}
