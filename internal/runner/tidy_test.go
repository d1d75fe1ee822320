package runner

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadProcess is a process of this host that has exited.
func deadProcess(t *testing.T) record.Process {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	start, _ := proc.ProcessStart(pid)
	require.NoError(t, cmd.Wait())
	return record.Process{Host: proc.Hostname(), PID: pid, PIDStart: start}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// leftRun makes what a magelab killed while starting a run leaves: its
// directory with params.yaml and logs/, and its announcement by owner.
func leftRun(t *testing.T, p *Project, id string, owner record.Process) string {
	t.Helper()
	dir := p.Ledger.RunDir(id)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "params.yaml"), []byte("seed: 1\n"), 0o644))
	writeJSON(t, filepath.Join(p.pendingDir(), id+".json"), owner)
	return dir
}

// TestTidyRemovesWhatKilledRunsLeft: the run directories of runs whose
// owner is gone, and the half-made stage outputs whose key nobody holds,
// are removed and named; those of a live owner, or being computed, stay.
func TestTidyRemovesWhatKilledRunsLeft(t *testing.T) {
	p := NewProject(t.TempDir(), Settings{}, io.Discard)
	dead := leftRun(t, p, "019a0000-0000-7000-8000-00000000dead", deadProcess(t))
	alive := leftRun(t, p, "019a0000-0000-7000-8000-0000000a11fe", stamp.ThisProcess())
	elsewhere := leftRun(t, p, "019a0000-0000-7000-8000-00000e15e000", record.Process{Host: "another-host", PID: 1})

	stage := filepath.Join(p.Cache.Dir, "preprocess")
	stale := filepath.Join(stage, "aaaa1111.tmp-123")
	busy := filepath.Join(stage, "bbbb2222.tmp-456")
	old := filepath.Join(stage, "cccc3333dddd.tmp-789") // named by the short key, as before
	for _, d := range []string{stale, busy, old} {
		require.NoError(t, os.MkdirAll(filepath.Join(d, "out"), 0o755))
	}
	for _, k := range []string{"aaaa1111", "bbbb2222", "cccc3333dddd4444"} {
		require.NoError(t, os.WriteFile(filepath.Join(stage, k+".lock"), nil, 0o644))
	}
	held, err := os.Open(filepath.Join(stage, "bbbb2222.lock"))
	require.NoError(t, err)
	defer held.Close()
	require.NoError(t, syscall.Flock(int(held.Fd()), syscall.LOCK_EX))

	removed := p.Tidy()
	assert.Len(t, removed, 3, "%q", removed)
	joined := strings.Join(removed, "\n")
	assert.Contains(t, joined, "removed runs/019a0000-0000-7000-8000-00000000dead: run 019a0000-0000-7000-8000-00000000dead was never recorded")
	assert.Contains(t, joined, "removed .magelab/cache/preprocess/aaaa1111.tmp-123: a stage output left half-made")
	assert.Contains(t, joined, "cccc3333dddd.tmp-789")
	assert.NoDirExists(t, dead)
	assert.NoDirExists(t, stale)
	assert.NoDirExists(t, old)
	assert.DirExists(t, alive, "the run of a live magelab was removed")
	assert.DirExists(t, elsewhere, "the run of another host's magelab was removed")
	assert.DirExists(t, busy, "a stage output being computed was removed")
	assert.NoFileExists(t, filepath.Join(p.pendingDir(), "019a0000-0000-7000-8000-00000000dead.json"))
}

// TestCleanRemovesUnknownRunDirs: clean also removes the run directories of
// earlier versions' killed runs (no run.json, no announcement, unknown to
// the ledger) once they are an hour old.
func TestCleanRemovesUnknownRunDirs(t *testing.T) {
	var out bytes.Buffer
	p := NewProject(t.TempDir(), Settings{}, &out)
	orphan := p.Ledger.RunDir("019a0000-0000-7000-8000-0000000001d0")
	fresh := p.Ledger.RunDir("019a0000-0000-7000-8000-000000000f00")
	recorded := p.Ledger.RunDir("019a0000-0000-7000-8000-0000000ec0d0")
	for _, d := range []string{orphan, fresh, recorded} {
		require.NoError(t, os.MkdirAll(filepath.Join(d, "logs"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(recorded, "run.json"), []byte("{}"), 0o644))
	hourAgo := time.Now().Add(-2 * time.Hour)
	for _, d := range []string{orphan, recorded} {
		require.NoError(t, os.Chtimes(d, hourAgo, hourAgo))
	}
	require.NoError(t, p.Clean(false))
	assert.NoDirExists(t, orphan)
	assert.DirExists(t, fresh, "a run directory made a moment ago may be a run starting")
	assert.DirExists(t, recorded, "a directory with run.json is an import to complete")
	assert.Contains(t, out.String(), "removed runs/019a0000-0000-7000-8000-0000000001d0: a run directory without run.json")
}
