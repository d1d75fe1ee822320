package ledger

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

// Helpers of the import tests: runs made and copied, archives written,
// trees compared.

// mustRun writes a finished run, its directory and its two events, as
// training does, and returns its id.
func mustRun(t *testing.T, l *Ledger, tag string) string {
	t.Helper()
	id, err := record.NewID()
	require.NoError(t, err)
	start := time.Now().UTC().Truncate(time.Second)
	r := &record.Run{ID: id, Experiment: "exp-" + tag, Status: record.StatusRunning, Started: start, Key: "key-" + tag,
		Params: map[string]any{"train": map[string]any{"lr": 0.01}}, Metrics: map[string]float64{"val_accuracy": 0.9},
		Process: record.Process{Host: "elsewhere", PID: 42, Started: start}}
	r.Finish(record.StatusFinished, 0, start.Add(time.Minute))
	require.NoError(t, l.WriteRecord(r))
	mustWrite(t, filepath.Join(l.RunDir(id), "params.yaml"), "train:\n  lr: 0.01\n")
	mustWrite(t, filepath.Join(l.RunDir(id), "logs", "train.log"), "epoch 1 "+tag+"\n")
	mustWrite(t, filepath.Join(l.RunDir(id), "out", "metrics.json"), `{"val_accuracy": 0.9}`)
	code := 0
	mustAppend(t, l, record.Event{Run: id, Type: record.EventRunStarted, Time: start, Experiment: r.Experiment, Key: r.Key, Host: "elsewhere", PID: 42})
	mustAppend(t, l, record.Event{Run: id, Type: record.EventRunFinished, Time: start.Add(time.Minute), Status: record.StatusFinished, ExitCode: &code, Metrics: r.Metrics})
	return id
}

// mustCopyRun puts src's run into dst as an earlier import would have.
func mustCopyRun(t *testing.T, src, dst *Ledger, id string) {
	t.Helper()
	os.MkdirAll(dst.Dir, 0o755)
	require.NoError(t, copyRunDir(context.Background(), src.RunDir(id), dst.RunDir(id)))
	events, _, _ := src.Events()
	for _, ev := range events {
		if ev.Run == id {
			mustAppend(t, dst, ev)
		}
	}
}

func mustImport(t *testing.T, l *Ledger, src string) ImportReport {
	t.Helper()
	rep, err := l.Import(context.Background(), src, ImportOptions{})
	require.NoError(t, err, "Import(%s)", src)
	return rep
}

// mustEventCounts checks that the ledger holds exactly these runs, each with
// this many events, and reads without warnings.
func mustEventCounts(t *testing.T, l *Ledger, want map[string]int) {
	t.Helper()
	events, warnings, err := l.Events()
	require.NoError(t, err, "Events")
	require.Empty(t, warnings, "Events")
	got := map[string]int{}
	for _, ev := range events {
		got[ev.Run]++
	}
	require.Equal(t, want, got, "events per run")
}

// mustOnlyRuns checks that l.Dir holds the ledger and these run directories,
// and nothing else: no work directory left behind, no stray file.
func mustOnlyRuns(t *testing.T, l *Ledger, ids ...string) {
	t.Helper()
	entries, _ := os.ReadDir(l.Dir)
	var got []string
	for _, e := range entries {
		if e.Name() != "ledger.jsonl" {
			got = append(got, e.Name())
		}
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	require.Equal(t, want, got, "%s holds %v, want %v", l.Dir, got, want)
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func appendRaw(t *testing.T, l *Ledger, s string) {
	t.Helper()
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	f.WriteString(s)
}

// snapshot lists every path under base outside skip, with size and type.
func snapshot(t *testing.T, base, skip string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if path == skip {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil {
			out[path] = fmt.Sprint(info.Mode(), " ", info.Size())
		}
		return nil
	})
	return out
}

// entry is one archive member for the test archives.
type entry struct {
	name, body, link       string
	dir, symlink, hardlink bool
	device                 bool
}

// treeEntries lists a directory tree as archive entries under prefix.
func treeEntries(t *testing.T, dir, prefix string) []entry {
	t.Helper()
	var out []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		e := entry{name: prefix + filepath.ToSlash(rel)}
		switch {
		case d.IsDir():
			e.dir = true
			e.name += "/"
		case d.Type()&fs.ModeSymlink != 0:
			e.symlink = true
			e.link, _ = os.Readlink(path)
		default:
			b, _ := os.ReadFile(path)
			e.body = string(b)
		}
		out = append(out, e)
		return nil
	})
	require.NoError(t, err)
	return out
}

func writeTar(t *testing.T, path string, gz bool, entries []entry) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1e9, 0)}
		switch {
		case e.dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.symlink:
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		case e.hardlink:
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.link, 0
		case e.device:
			h.Typeflag, h.Size, h.Devmajor, h.Devminor = tar.TypeChar, 0, 1, 3
		}
		require.NoError(t, tw.WriteHeader(h))
		tw.Write([]byte(e.body))
	}
	require.NoError(t, tw.Close())
	data := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func writeZip(t *testing.T, path string, entries []entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch {
		case e.dir:
			h.SetMode(fs.ModeDir | 0o755)
		case e.symlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			e.body = e.link
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		w.Write([]byte(e.body))
	}
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}
