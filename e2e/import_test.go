package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigArchive writes a .tar.gz of a runs/ tree with one run whose model
// expands to size bytes, made cheaply: gzip members are concatenated, so a
// megabyte of zeros compressed once is written size/1MiB times.
func bigArchive(t *testing.T, size int64) string {
	t.Helper()
	id, _ := record.NewID()
	now := time.Now().UTC()
	run := fmt.Sprintf(`{"id":%q,"experiment":"big","status":"finished","started":%q}`, id, now.Format(time.RFC3339))
	ledgerLine := fmt.Sprintf(`{"run":%q,"type":"run.started","time":%q,"experiment":"big"}`+"\n"+`{"run":%q,"type":"run.finished","time":%q,"status":"finished","exit_code":0}`+"\n",
		id, now.Format(time.RFC3339), id, now.Format(time.RFC3339))
	path := filepath.Join(t.TempDir(), "runs.tgz")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	member := func(b []byte) {
		zw := gzip.NewWriter(f)
		zw.Write(b)
		zw.Close()
	}
	var head bytes.Buffer
	tw := tar.NewWriter(&head)
	for name, body := range map[string]string{"runs/ledger.jsonl": ledgerLine, "runs/" + id + "/run.json": run} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.WriteHeader(&tar.Header{Name: "runs/" + id + "/out/model.bin", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	tw.Flush()
	member(head.Bytes())
	mib := make([]byte, 1<<20)
	var zeros bytes.Buffer
	zw := gzip.NewWriter(&zeros)
	zw.Write(mib)
	zw.Close()
	for range size >> 20 {
		f.Write(zeros.Bytes())
	}
	member(make([]byte, 1024)) // the end-of-archive blocks
	return path
}

// TestImportCtrlC sends SIGINT, as Ctrl-C does, to `runs:import` while it
// extracts a large archive: it exits with 130 within a few seconds, well
// inside Mage's 5 s cleanup window, leaves no staging directory and a
// ledger whose every run has its directory.
func TestImportCtrlC(t *testing.T) {
	p := newProject(t)
	archive := bigArchive(t, 3<<30)
	cmd := p.command(magelabBin, "runs:import", archive)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	runs := filepath.Join(p.dir, "runs")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(runs, ".import-*")); len(m) > 0 {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	took := time.Since(sent)
	// Before the fix it exited 1 after Mage's cleanup timeout: the exit
	// status tells the two apart, and how long it took is only logged.
	require.Equal(t, 130, cmd.ProcessState.ExitCode(), "exit status after SIGINT (%v, %s):\n%s", err, took, out.String())
	t.Logf("runs:import stopped %s after SIGINT", took)
	mustContain(t, out.String(), "runs:import "+archive+": interrupted")
	m, _ := filepath.Glob(filepath.Join(runs, ".import-*"))
	assert.Empty(t, m, "staging directory left behind")
	sums, _, err := ledger.Open(runs).Summaries()
	require.NoError(t, err)
	known := map[string]bool{}
	for _, s := range sums {
		known[s.ID] = true
		assert.FileExists(t, filepath.Join(runs, s.ID, "run.json"), "run %s is in the ledger without its directory", s.ID)
	}
	entries, _ := os.ReadDir(runs)
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			assert.True(t, known[e.Name()], "run directory %s without ledger events", e.Name())
		}
	}
}
