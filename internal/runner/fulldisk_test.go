package runner

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests here put a full disk at the two seams where a run writes what
// it records: the record store (run.json through Ledger.WriteRecord, the
// ledger through Ledger.Append) and the stage log (createLog). The e2e test
// TestFullDisk fills a real tmpfs where a mount namespace is allowed.

// fullDisk is a ledger on a disk that fills up after okRecords run.json
// writes; appends to the ledger, small, still fit.
type fullDisk struct {
	*ledger.Ledger
	okRecords, records int
}

func (d *fullDisk) WriteRecord(r *record.Run) error {
	if d.records++; d.records > d.okRecords {
		return &fs.PathError{Op: "write", Path: filepath.Join(d.RunDir(r.ID), ".run.json.tmp-1"), Err: syscall.ENOSPC}
	}
	return d.Ledger.WriteRecord(r)
}

// fullLog is a log file with room for room bytes.
type fullLog struct {
	f    *os.File
	room int
}

func (l *fullLog) Write(b []byte) (int, error) {
	if len(b) <= l.room {
		l.room -= len(b)
		return l.f.Write(b)
	}
	n, _ := l.f.Write(b[:l.room])
	l.room = 0
	return n, syscall.ENOSPC
}

func (l *fullLog) Close() error { return l.f.Close() }

// fullDiskRun trains a command stage that prints 2000 lines, with run.json
// writes after the first failing when recordFails, and the stage log full
// after logRoom bytes (0: room enough).
func fullDiskRun(t *testing.T, recordFails bool, logRoom int) (*Project, *Run, error, string) {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "experiments"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "experiments", "seq.yaml"), []byte("name: seq\nstages:\n  train: {cmd: \"seq 1 2000\"}\n"), 0o644))
	exp, err := config.Load(root, "seq")
	require.NoError(t, err)
	var out bytes.Buffer
	p := NewProject(root, Settings{CUDAVisibleSet: true}, &out)
	if recordFails {
		p.records = &fullDisk{Ledger: p.Ledger, okRecords: 1}
	}
	if logRoom > 0 {
		old := createLog
		createLog = func(path string) (io.WriteCloser, error) {
			f, err := os.Create(path)
			return &fullLog{f: f, room: logRoom}, err
		}
		t.Cleanup(func() { createLog = old })
	}
	keys, err := p.StageKeys(exp, "req")
	require.NoError(t, err)
	r, err := p.StartRun(context.Background(), exp, keys["train"], "req", venv.Venv{Dir: filepath.Join(root, ".venv")}, RunOptions{})
	require.NoError(t, err)
	train, _ := exp.Stage("train")
	err = r.Finish(r.Train(context.Background(), exp, train, keys, "python3"))
	return p, r, err, out.String()
}

// TestFullDiskRecordNotSaved: when run.json cannot be written at the end,
// the ledger does not say finished: the run is failed, with the reason, in
// the listing and in runs:show, though run.json still says running.
func TestFullDiskRecordNotSaved(t *testing.T) {
	p, r, err, _ := fullDiskRun(t, true, 0)
	require.ErrorContains(t, err, "its record could not be saved")
	require.ErrorContains(t, err, "no space left on device")

	events, _, lerr := p.Ledger.Events()
	require.NoError(t, lerr)
	last := events[len(events)-1]
	assert.Equal(t, record.EventRunFinished, last.Type)
	assert.Equal(t, record.StatusFailed, last.Status, "the ledger claims what run.json does not hold")
	assert.Contains(t, last.Error, "no space left on device")

	onDisk, rerr := p.Ledger.ReadRecord(r.Record.ID)
	require.NoError(t, rerr)
	assert.Equal(t, record.StatusRunning, onDisk.Status, "the test's full disk let run.json through")

	listed, _, qerr := query.List(p.Ledger, query.Query{})
	require.NoError(t, qerr)
	require.Len(t, listed, 1)
	assert.Equal(t, record.StatusFailed, listed[0].Status)
	assert.Contains(t, listed[0].Error, "no space left on device")

	shown, _, warnings, serr := query.Records(p.Ledger, r.Record.ID)
	require.NoError(t, serr)
	assert.Equal(t, record.StatusFailed, shown[0].Status)
	assert.Equal(t, 1, shown[0].ExitCode)
	assert.Contains(t, shown[0].Error, "its record could not be saved")
	assert.True(t, strings.Contains(strings.Join(warnings, "\n"), "was not updated when run"), "warnings: %q", warnings)
}

// TestFullDiskLogCutShort: a stage log that cannot be written whole says
// so, in the log, in the stage's record and in the run's warnings, while
// the terminal still gets every line.
func TestFullDiskLogCutShort(t *testing.T) {
	p, r, err, out := fullDiskRun(t, false, 100)
	require.NoError(t, err)
	assert.Contains(t, out, "[train] 2000\n", "the terminal lost output when the log filled up")
	stage, _ := r.Record.Stage("train")
	assert.Equal(t, "cut short after 100 bytes: no space left on device", stage.LogIncomplete)
	saved, rerr := p.Ledger.ReadRecord(r.Record.ID)
	require.NoError(t, rerr)
	assert.Equal(t, record.StatusFinished, saved.Status)
	st, _ := saved.Stage("train")
	assert.Equal(t, stage.LogIncomplete, st.LogIncomplete)
	assert.Contains(t, strings.Join(saved.Warnings, "\n"), "stage train: its log "+stage.Log+" was cut short after 100 bytes")
	assert.Contains(t, out, "warning: stage train: its log")
}
