package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/magelab/magelab/internal/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countdown is a context that ends (as Ctrl-C ends magelab's) after its
// Err has been asked n times: the import stops at a different point for
// each n.
type countdown struct {
	context.Context
	left atomic.Int64
}

func newCountdown(n int64) *countdown {
	c := &countdown{Context: context.Background()}
	c.left.Store(n)
	return c
}

func (c *countdown) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// mustConsistent checks that the ledger and the run directories agree:
// every run directory has its events, every run with events its directory,
// and nothing of the import's work is left.
func mustConsistent(t *testing.T, l *Ledger, srcIDs map[string]bool) int {
	t.Helper()
	events, warnings, err := l.Events()
	require.NoError(t, err)
	require.Empty(t, warnings)
	withEvents := map[string]bool{}
	for _, ev := range events {
		withEvents[ev.Run] = true
	}
	entries, _ := os.ReadDir(l.Dir)
	dirs := 0
	for _, e := range entries {
		switch name := e.Name(); {
		case name == "ledger.jsonl":
		case strings.HasPrefix(name, ".import-"):
			assert.Fail(t, "a staging directory is left", name)
		default:
			dirs++
			assert.True(t, srcIDs[name], "%s is not a run of the source", name)
			assert.True(t, withEvents[name], "run %s has a directory but no events", name)
		}
	}
	for id := range withEvents {
		assert.DirExists(t, l.RunDir(id), "run %s has events but no directory", id)
	}
	return dirs
}

// TestImportInterrupted stops imports of a directory and of an archive at
// every point the import checks its context, and checks that each leaves
// the ledger consistent, no staging directory, and an *InterruptedError;
// the next import adds the rest.
func TestImportInterrupted(t *testing.T) {
	src := Open(t.TempDir())
	ids := map[string]bool{}
	for i := range 6 {
		ids[mustRun(t, src, string(rune('a'+i)))] = true
	}
	archive := filepath.Join(t.TempDir(), "runs.tgz")
	writeTar(t, archive, true, treeEntries(t, src.Dir, "runs/"))
	for _, from := range []string{src.Dir, archive} {
		stopped := 0
		for n := int64(0); ; n++ {
			dst := Open(filepath.Join(t.TempDir(), "runs"))
			_, err := dst.Import(newCountdown(n), from, ImportOptions{})
			if err == nil {
				break // n is past the last check: the import ran whole
			}
			stopped++
			var ie *proc.InterruptedError
			require.True(t, errors.As(err, &ie), "stopped after %d checks: %v, want an InterruptedError", n, err)
			mustConsistent(t, dst, ids)
			rep, err := dst.Import(context.Background(), from, ImportOptions{})
			require.NoError(t, err)
			assert.Empty(t, rep.Conflicts, "importing again after a stop at %d", n)
			assert.Equal(t, len(ids), mustConsistent(t, dst, ids), "importing again after a stop at %d", n)
		}
		assert.Greater(t, stopped, 10, "%s: the import checked its context only %d times", from, stopped)
		t.Logf("%s: stopped at %d points, consistent each time", filepath.Base(from), stopped)
	}
}

// TestImportArchiveSizeCaps: an archive whose files would expand past the
// caps is refused before anything of it is written.
func TestImportArchiveSizeCaps(t *testing.T) {
	src := Open(t.TempDir())
	id := mustRun(t, src, "big")
	mustWrite(t, filepath.Join(src.RunDir(id), "out", "model.bin"), strings.Repeat("\x00", 2<<20))
	entries := treeEntries(t, src.Dir, "")
	tests := []struct {
		name string
		opts ImportOptions
		want string
	}{
		{"TotalOverCap", ImportOptions{MaxTotal: 1 << 20}, "it expands to 2.0 MiB, more than the 1.0 MiB an import may write; nothing of it was imported"},
		{"FileOverCap", ImportOptions{MaxFile: 512 << 10}, `its entry "` + id + `/out/model.bin" expands to 2.0 MiB, more than the 512.0 KiB a file may have`},
	}
	for _, kind := range []string{"zip", "tgz", "tar"} {
		archive := filepath.Join(t.TempDir(), "runs."+kind)
		if kind == "zip" {
			writeZip(t, archive, entries)
		} else {
			writeTar(t, archive, kind == "tgz", entries)
		}
		st, _ := os.Stat(archive)
		if kind != "tar" {
			require.Less(t, st.Size(), int64(64<<10), "%s: the archive is not a small one that expands", kind)
		}
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				dst := Open(filepath.Join(t.TempDir(), "runs"))
				_, err := dst.Import(context.Background(), archive, tt.opts)
				require.ErrorContains(t, err, tt.want)
				mustOnlyRuns(t, dst)
			})
		}
	}
}
