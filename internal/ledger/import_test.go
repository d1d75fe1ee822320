package ledger

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

func TestImport(t *testing.T) {
	t.Run("IntoEmptyLedger", func(t *testing.T) {
		src := Open(t.TempDir())
		ids := []string{mustRun(t, src, "a"), mustRun(t, src, "b"), mustRun(t, src, "c")}
		dst := Open(filepath.Join(t.TempDir(), "runs"))
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, ids, rep.Added, "report %+v, want %v added", rep, ids)
		require.Empty(t, rep.Skipped, "report %+v, want %v added", rep, ids)
		require.Empty(t, rep.Conflicts, "report %+v, want %v added", rep, ids)
		require.Empty(t, rep.Rejected, "report %+v, want %v added", rep, ids)
		require.Empty(t, rep.Warnings, "report %+v, want %v added", rep, ids)
		for _, id := range ids {
			for _, f := range []string{"run.json", "params.yaml", "logs/train.log", "out/metrics.json"} {
				want, _ := os.ReadFile(filepath.Join(src.RunDir(id), f))
				got, err := os.ReadFile(filepath.Join(dst.RunDir(id), f))
				if assert.NoError(t, err, "%s/%s", id, f) {
					assert.Equal(t, string(want), string(got), "%s/%s: content", id, f)
				}
			}
		}
		mustEventCounts(t, dst, map[string]int{ids[0]: 2, ids[1]: 2, ids[2]: 2})
		mustOnlyRuns(t, dst, ids...)
	})

	t.Run("OverlappingRunsSkippedOnce", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		mine := mustRun(t, dst, "mine")
		shared := mustRun(t, src, "shared")
		mustCopyRun(t, src, dst, shared)
		theirs := mustRun(t, src, "theirs")
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{theirs}, rep.Added, "first import: %+v", rep)
		require.Equal(t, []string{shared}, rep.Skipped, "first import: %+v", rep)
		require.Empty(t, rep.Conflicts, "first import: %+v", rep)
		again := mustImport(t, dst, src.Dir)
		require.Empty(t, again.Added, "second import: %+v, want nothing added and both skipped", again)
		require.Equal(t, []string{shared, theirs}, again.Skipped, "second import: %+v, want nothing added and both skipped", again)
		mustEventCounts(t, dst, map[string]int{mine: 2, shared: 2, theirs: 2})
		runs, _, err := dst.Summaries()
		require.NoError(t, err, "summaries")
		require.Len(t, runs, 3, "summaries")
	})

	t.Run("ConflictLeavesBothAlone", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		mustCopyRun(t, src, dst, id)
		r, _ := dst.ReadRecord(id)
		r.Metrics["val_accuracy"] = 0.5
		r.Status = record.StatusFailed
		require.NoError(t, dst.WriteRecord(r))
		before, _ := os.ReadFile(filepath.Join(dst.RunDir(id), "run.json"))
		ledger, _ := os.ReadFile(dst.Path())
		rep := mustImport(t, dst, src.Dir)
		require.Len(t, rep.Conflicts, 1, "report %+v", rep)
		require.Equal(t, id, rep.Conflicts[0].ID, "report %+v", rep)
		require.Empty(t, rep.Added, "report %+v", rep)
		require.Empty(t, rep.Skipped, "report %+v", rep)
		why := rep.Conflicts[0].Reason
		assert.Contains(t, why, "metrics, status", "reason")
		assert.Contains(t, why, "status failed here, finished in src", "reason")
		after, _ := os.ReadFile(filepath.Join(dst.RunDir(id), "run.json"))
		ledgerAfter, _ := os.ReadFile(dst.Path())
		require.Equal(t, string(before), string(after), "a conflicting import changed this ledger")
		require.Equal(t, string(ledger), string(ledgerAfter), "a conflicting import changed this ledger")
	})

	t.Run("SameRecordFormattedDifferentlyIsSkipped", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		mustCopyRun(t, src, dst, id)
		r, _ := dst.ReadRecord(id)
		compact, _ := json.Marshal(r)
		mustWrite(t, filepath.Join(dst.RunDir(id), "run.json"), string(compact))
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{id}, rep.Skipped, "report %+v", rep)
	})

	t.Run("EventsWithoutDirectoryImportedWithWarning", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		os.RemoveAll(src.RunDir(id))
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{id}, rep.Added, "report %+v", rep)
		require.Len(t, rep.Warnings, 1, "report %+v", rep)
		require.Contains(t, rep.Warnings[0], "no directory", "report %+v", rep)
		mustEventCounts(t, dst, map[string]int{id: 2})
		again := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{id}, again.Skipped, "second import %+v", again)
	})

	t.Run("DirectoryWithoutEventsIgnoredWithWarning", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		os.WriteFile(src.Path(), nil, 0o644)
		rep := mustImport(t, dst, src.Dir)
		require.Empty(t, rep.Added, "report %+v", rep)
		require.Len(t, rep.Warnings, 1, "report %+v", rep)
		require.Contains(t, rep.Warnings[0], id+": src has its directory but no ledger events", "report %+v", rep)
		mustOnlyRuns(t, dst)
	})

	t.Run("CompletesAnInterruptedImport", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		mustCopyRun(t, src, dst, id) // the directory made it into place ...
		os.WriteFile(dst.Path(), nil, 0o644)
		mustWrite(t, filepath.Join(dst.Dir, ".import-123", "run-"+id, "run.json"), "{") // ... a half copy was left behind
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{id}, rep.Added, "report %+v", rep)
		require.Len(t, rep.Warnings, 1, "report %+v", rep)
		require.Contains(t, rep.Warnings[0], "import cut short", "report %+v", rep)
		mustEventCounts(t, dst, map[string]int{id: 2})
		mustOnlyRuns(t, dst, id)
	})

	t.Run("KeepsLinesAsWritten", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		line := `{"run":"` + id + `","type":"run.evaluated","time":"2026-01-02T03:04:05Z","metrics":{"f1":0.5},"from_a_newer_magelab":{"x":1}}`
		appendRaw(t, src, line+"\n")
		mustImport(t, dst, src.Dir)
		b, _ := os.ReadFile(dst.Path())
		require.Contains(t, string(b), line+"\n", "ledger lacks the line as written")
	})

	t.Run("TornSourceLineWarned", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		appendRaw(t, src, `{"run":"`+id+`","type":"run.evalu`)
		rep := mustImport(t, dst, src.Dir)
		require.Equal(t, []string{id}, rep.Added, "report %+v", rep)
		require.Len(t, rep.Warnings, 1, "report %+v", rep)
		require.Contains(t, rep.Warnings[0], "ledger.jsonl:3: skipped", "report %+v", rep)
	})

	t.Run("LinkInsideRunKept", func(t *testing.T) {
		src, dst := Open(t.TempDir()), Open(t.TempDir())
		id := mustRun(t, src, "x")
		os.Symlink("metrics.json", filepath.Join(src.RunDir(id), "out", "latest.json"))
		mustImport(t, dst, src.Dir)
		target, err := os.Readlink(filepath.Join(dst.RunDir(id), "out", "latest.json"))
		require.NoError(t, err, "link")
		require.Equal(t, "metrics.json", target, "link")
	})

	t.Run("ProjectDirectory", func(t *testing.T) {
		project := t.TempDir()
		id := mustRun(t, Open(filepath.Join(project, "runs")), "x")
		dst := Open(t.TempDir())
		rep := mustImport(t, dst, project)
		require.Equal(t, []string{id}, rep.Added, "report %+v", rep)
	})

	t.Run("NoLedger", func(t *testing.T) {
		_, err := Open(t.TempDir()).Import(context.Background(), t.TempDir(), ImportOptions{})
		require.ErrorContains(t, err, "no ledger.jsonl")
	})
}

// TestImportArchive imports CI artifacts: the same runs/ tree as a tar, a
// gzipped tar with a runs/ prefix, and a zip.
func TestImportArchive(t *testing.T) {
	src := Open(t.TempDir())
	ids := []string{mustRun(t, src, "a"), mustRun(t, src, "b")}
	os.Symlink("metrics.json", filepath.Join(src.RunDir(ids[0]), "out", "latest.json"))
	tests := []struct {
		name, file, prefix string
		gzip, zip          bool
	}{
		{"Tar", "runs.tar", "", false, false},
		{"TarGzWithRunsPrefix", "artifact.tgz", "runs/", true, false},
		{"Zip", "runs.zip", "./", false, true},
		{"ZipNamedOddly", "download", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries := treeEntries(t, src.Dir, tc.prefix)
			archive := filepath.Join(t.TempDir(), tc.file)
			if tc.zip {
				writeZip(t, archive, entries)
			} else {
				writeTar(t, archive, tc.gzip, entries)
			}
			dst := Open(filepath.Join(t.TempDir(), "runs"))
			rep := mustImport(t, dst, archive)
			require.Equal(t, ids, rep.Added, "report %+v", rep)
			require.Empty(t, rep.Rejected, "report %+v", rep)
			require.Empty(t, rep.Warnings, "report %+v", rep)
			mustEventCounts(t, dst, map[string]int{ids[0]: 2, ids[1]: 2})
			mustOnlyRuns(t, dst, ids...)
			target, _ := os.Readlink(filepath.Join(dst.RunDir(ids[0]), "out", "latest.json"))
			assert.Equal(t, "metrics.json", target, "link inside the run")
			again := mustImport(t, dst, archive)
			require.Empty(t, again.Added, "second import %+v", again)
			require.Len(t, again.Skipped, 2, "second import %+v", again)
		})
	}
	t.Run("NotAnArchive", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "runs.tar.gz")
		mustWrite(t, f, "hello")
		_, err := Open(t.TempDir()).Import(context.Background(), f, ImportOptions{})
		require.ErrorContains(t, err, "neither a directory nor")
	})
	t.Run("TruncatedArchiveImportsNothing", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "runs.tgz")
		writeTar(t, archive, true, treeEntries(t, src.Dir, ""))
		b, _ := os.ReadFile(archive)
		os.WriteFile(archive, b[:len(b)/2], 0o644)
		dst := Open(t.TempDir())
		_, err := dst.Import(context.Background(), archive, ImportOptions{})
		require.Error(t, err, "a truncated archive imported without error")
		mustOnlyRuns(t, dst)
	})
}

// TestImportRejects feeds hostile trees and archives: each is refused with
// a reason, the good run beside it still comes in, and nothing is written
// outside the ledger directory.
func TestImportRejects(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, base string, src *Ledger, good string) (path string, bad []string)
		want  []string // substrings of Rejected, in order
	}{
		{"IDWithDots", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			mustWrite(t, filepath.Join(base, "x", "run.json"), `{"id":"x"}`) // what "../x" would reach
			appendRaw(t, src, `{"run":"../x","type":"run.started"}`+"\n")
			return src.Dir, nil
		}, []string{`run "../x": not a run id`}},
		{"UppercaseID", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := strings.ToUpper(good[:8]) + good[8:]
			appendRaw(t, src, `{"run":"`+id+`","type":"run.started"}`+"\n")
			return src.Dir, nil
		}, []string{"not a run id"}},
		{"SymlinkToPasswd", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			os.Symlink("/etc/passwd", filepath.Join(src.RunDir(id), "out", "passwd"))
			return src.Dir, []string{id}
		}, []string{"out/passwd is a symlink to the absolute path /etc/passwd, outside the run directory"}},
		{"RelativeSymlinkOut", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			os.Symlink("../../../secret", filepath.Join(src.RunDir(id), "out", "s"))
			return src.Dir, []string{id}
		}, []string{"out/s is a symlink to ../../../secret, outside the run directory"}},
		{"SymlinkOutThroughAnotherLink", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			os.Symlink("..", filepath.Join(src.RunDir(id), "out", "up"))  // out/up → the run dir: fine alone
			os.Symlink("out/up/..", filepath.Join(src.RunDir(id), "esc")) // looks like "out", is the run's parent
			return src.Dir, []string{id}
		}, []string{"esc is a symlink to out/up/.., which leads outside the run directory through other links"}},
		{"NamedPipe", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			if err := syscall.Mkfifo(filepath.Join(src.RunDir(id), "out", "fifo"), 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
			return src.Dir, []string{id}
		}, []string{"out/fifo is a named pipe, not a file"}},
		{"RunDirIsSymlink", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			os.Rename(src.RunDir(id), filepath.Join(base, "elsewhere"))
			os.Symlink(filepath.Join(base, "elsewhere"), src.RunDir(id))
			return src.Dir, []string{id}
		}, []string{"not imported: its directory in src is a symlink"}},
		{"RunJSONLinksOut", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			p := filepath.Join(src.RunDir(id), "run.json")
			os.Remove(p)
			os.Symlink("/etc/passwd", p)
			return src.Dir, []string{id}
		}, []string{"run.json is unreadable"}},
		{"TarEscapes", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			dotdot := mustRun(t, src, "dotdot")
			through := mustRun(t, src, "through")
			hard := mustRun(t, src, "hard")
			entries := treeEntries(t, src.Dir, "")
			entries = append(entries,
				entry{name: "../../evil", body: "x"},
				entry{name: filepath.Join(base, "abs-evil"), body: "x"},
				entry{name: dotdot + "/../../evil2", body: "x"},
				entry{name: through + "/out/up", link: "..", symlink: true}, // stays inside: created last
				entry{name: through + "/out/up/evil3", body: "x"},
				entry{name: through + "/out/esc", link: "../../../..", symlink: true},
				entry{name: hard + "/h", link: "/etc/passwd", hardlink: true},
			)
			archive := filepath.Join(base, "hostile.tar")
			writeTar(t, archive, false, entries)
			return archive, []string{dotdot, through, hard}
		}, []string{
			`archive entry "../../evil": its name has a ".." element`,
			`abs-evil": its name is an absolute path`,
			`/../../evil2": its name has a ".." element`,
			`/out/up/evil3": its path goes through the symlink`,
			`/out/esc": a symlink to ../../../.., outside the archive`,
			`/h": a hard link to /etc/passwd: its name is an absolute path`,
			`its archive entry`, `its archive entry`, `its archive entry`,
		}},
		{"TarLinkToPasswd", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			entries := append(treeEntries(t, src.Dir, ""), entry{name: id + "/out/passwd", link: "/etc/passwd", symlink: true})
			archive := filepath.Join(base, "a.tgz")
			writeTar(t, archive, true, entries)
			return archive, []string{id}
		}, []string{"a symlink to the absolute path /etc/passwd", "its archive entry"}},
		{"TarDevice", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			entries := append(treeEntries(t, src.Dir, ""), entry{name: id + "/out/null", device: true})
			archive := filepath.Join(base, "a.tar")
			writeTar(t, archive, false, entries)
			return archive, []string{id}
		}, []string{"a device file: only files, directories and links are extracted", "its archive entry"}},
		{"ZipDotDot", func(t *testing.T, base string, src *Ledger, good string) (string, []string) {
			id := mustRun(t, src, "bad")
			entries := append(treeEntries(t, src.Dir, ""),
				entry{name: "../evil", body: "x"},
				entry{name: id + "/../../../evil", body: "x"},
				entry{name: `..\..\evil`, body: "x"},
			)
			archive := filepath.Join(base, "a.zip")
			writeZip(t, archive, entries)
			return archive, []string{id}
		}, []string{`"../evil": its name has a ".." element`, `/../../../evil": its name has a ".." element`, "backslash", "its archive entry"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			src := Open(filepath.Join(base, "src"))
			good := mustRun(t, src, "good")
			path, bad := tc.build(t, base, src, good)
			dst := Open(filepath.Join(base, "dst", "runs"))
			require.NoError(t, os.MkdirAll(dst.Dir, 0o755))
			outside := snapshot(t, base, dst.Dir)
			rep := mustImport(t, dst, path)
			t.Logf("rejected:\n%s", strings.Join(rep.Rejected, "\n"))
			assert.Equal(t, []string{good}, rep.Added, "added %v, want only the good run %s", rep.Added, good)
			assert.Len(t, rep.Rejected, len(tc.want), "rejected %d, want %d:\n%s", len(rep.Rejected), len(tc.want), strings.Join(rep.Rejected, "\n"))
			for i, w := range tc.want {
				if assert.Less(t, i, len(rep.Rejected), "rejected[%d] lacks %q:\n%s", i, w, strings.Join(rep.Rejected, "\n")) {
					assert.Contains(t, rep.Rejected[i], w, "rejected[%d] lacks %q:\n%s", i, w, strings.Join(rep.Rejected, "\n"))
				}
			}
			for _, id := range bad {
				assert.True(t, slices.ContainsFunc(rep.Rejected, func(s string) bool { return strings.HasPrefix(s, `run "`+id+`": not imported: `) }),
					"run %s not reported as rejected:\n%s", id, strings.Join(rep.Rejected, "\n"))
			}
			mustOnlyRuns(t, dst, good)
			after := snapshot(t, base, dst.Dir)
			assert.Equal(t, outside, after, "files outside the ledger changed")
		})
	}
}
