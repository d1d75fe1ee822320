package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"

	"github.com/magelab/magelab/internal/proc"
)

// ImportReport says what Import did. Run ids are listed in the order the
// source ledger first mentions them.
type ImportReport struct {
	Added     []string         // runs new to this ledger, now in it
	Skipped   []string         // runs this ledger already had, with the same run.json
	Conflicts []ImportConflict // same id, different run.json: reported, left as they were
	Rejected  []string         // what was refused, with the reason: bad ids, unsafe files, unsafe archive entries
	Warnings  []string         // imported with a caveat, or ignored: say so to the user

	SweepEvents int // sweep.started/finished events new to this ledger, appended
}

// ImportConflict is a run that both ledgers hold with different records.
type ImportConflict struct {
	ID, Reason string
}

// Import merges another runs/ tree into l: another machine's, or a CI
// artifact. src is a directory holding ledger.jsonl and one directory per
// run (or a directory with such a runs/ inside), or a .tar, .tar.gz/.tgz or
// .zip archive of one, told apart by content rather than name.
//
// For each run of src's ledger: a new id is added (its directory is copied
// into a temporary directory inside l.Dir, checked, renamed into place, and
// only then are its events appended, all of them in one locked write, in src
// order); a known id with the same run.json (compared as JSON, so key order
// and spacing do not matter) is skipped; a known id with a different one is
// a conflict and neither side is touched. Importing the same tree twice
// therefore adds nothing the second time.
//
// Nothing from src touches a path before it is checked: run ids must be
// UUIDs in canonical lowercase form, and a run directory holding anything
// but regular files, directories and relative symlinks that stay inside it
// (after resolving every link on the way) is rejected as a whole. Archive
// entries are extracted through an os.Root, so none can land outside the
// temporary directory; an entry with an absolute name, a ".." element, a
// backslash, a link leading out, or a device, fifo or socket is rejected,
// and so is the run whose directory it was in.
//
// A run in src's ledger without a directory in src has its events imported
// with a warning: the ledger is the source of truth for which runs exist and
// how they ended, and a listing needs nothing more; `runs:show` then has no
// run.json for it. A run directory in src that its ledger never mentions is
// ignored with a warning: without events it would be invisible here.
//
// Imports into one ledger are serialised by a lock on l.Dir. An import cut
// short leaves a hidden .import-* directory, removed by the next import, and
// at worst a run directory whose events were not yet appended: the next
// import of the same tree finds the same run.json there and appends them.
//
// When ctx ends (Ctrl-C) the import stops at the next file or run: the runs
// already added stay, each with its events, the work directory is removed,
// and the error is a *proc.InterruptedError. An archive is sized before
// anything of it is written, and refused whole when a file of it is larger
// than opts.MaxFile, or all of them than opts.MaxTotal or the free space.
func (l *Ledger) Import(ctx context.Context, src string, opts ImportOptions) (rep ImportReport, err error) {
	defer func() {
		if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			err = &proc.InterruptedError{What: "runs:import " + src}
		}
	}()
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("import: create ledger dir: %w", err)
	}
	unlock, err := lockImports(l.Dir)
	if err != nil {
		return rep, err
	}
	defer unlock()
	removeStaleStaging(l.Dir)
	work, err := os.MkdirTemp(l.Dir, ".import-")
	if err != nil {
		return rep, fmt.Errorf("import: create work dir: %w", err)
	}
	defer os.RemoveAll(work)
	from, err := openSource(ctx, src, work, &rep, opts.withDefaults())
	if err != nil {
		return rep, err
	}
	im := &importJob{ctx: ctx, l: l, from: from, rep: &rep}
	err = im.run() // before reading rep: run fills it in
	return rep, err
}

// importJob is one import of the ledger tree src (a directory, or an archive
// already extracted under work) into l.
type importJob struct {
	ctx   context.Context
	l     *Ledger
	from  importSource
	rep   *ImportReport
	known map[string]bool // run ids with events in l's ledger

	sweepSeen map[string]bool // sweep events l's ledger holds (sweepEventKey)
}

func (im *importJob) run() error {
	lines, warnings, err := readSourceLines(filepath.Join(im.from.root, "ledger.jsonl"))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im.rep.Warnings = append(im.rep.Warnings, warnings...)
	events, _, err := im.l.Events()
	if err != nil {
		return fmt.Errorf("import: read this ledger: %w", err)
	}
	im.known = map[string]bool{}
	im.sweepSeen = map[string]bool{}
	for _, ev := range events {
		if ev.IsSweep() {
			im.sweepSeen[sweepEventKey(ev)] = true
			continue
		}
		im.known[ev.Run] = true
	}
	lines, sweeps := splitSweepLines(lines)
	order, byRun := groupByRun(lines)
	for _, id := range order {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		if err := im.importRun(id, byRun[id]); err != nil {
			return err
		}
	}
	im.warnUnlisted(byRun)
	if err := im.appendSweeps(sweeps); err != nil {
		return err
	}
	return nil
}

// groupByRun groups lines by run, runs in order of first mention.
func groupByRun(lines []sourceLine) ([]string, map[string][]sourceLine) {
	var order []string
	byRun := map[string][]sourceLine{}
	for _, ln := range lines {
		if _, ok := byRun[ln.ev.Run]; !ok {
			order = append(order, ln.ev.Run)
		}
		byRun[ln.ev.Run] = append(byRun[ln.ev.Run], ln)
	}
	return order, byRun
}

// importRun decides what to do with one run of src and does it. Only a
// failure to write to l is an error; everything about src is a report.
func (im *importJob) importRun(id string, lines []sourceLine) error {
	if !validID(id) {
		im.reject(id, "not a run id (want a UUID in lowercase hex with dashes, 8-4-4-4-12); nothing of it was imported")
		return nil
	}
	if why, ok := im.from.tainted[id]; ok {
		im.reject(id, "not imported: "+why)
		return nil
	}
	srcRec, err := readSourceRecord(im.from.root, id)
	if err != nil {
		im.reject(id, "not imported: "+err.Error())
		return nil
	}
	hereRec, hereDir := recordHere(im.l.RunDir(id))
	switch {
	case im.known[id] && srcRec == nil:
		im.rep.Skipped = append(im.rep.Skipped, id)
	case im.known[id] || hereDir:
		return im.compare(id, lines, srcRec, hereRec, hereDir)
	case srcRec == nil:
		im.warn(id, "src has no directory for it: its ledger events were imported, but there is no run.json to show")
		return im.append(id, lines)
	default:
		return im.add(id, lines)
	}
	return nil
}

// compare handles an id that l already has: skipped when the records agree,
// a conflict when they do not. A directory already here without events is
// what an import cut short between rename and append leaves: the events are
// appended now.
func (im *importJob) compare(id string, lines []sourceLine, srcRec, hereRec []byte, hereDir bool) error {
	var reason string
	switch {
	case srcRec == nil:
		reason = "a directory for it exists here without ledger events, and src has none to compare it with"
	case hereRec == nil && hereDir:
		reason = "its directory here has no readable run.json to compare with src's"
	case hereRec == nil:
		reason = "this ledger has its events but not its directory (imported from a ledger without it?); src has one"
	default:
		reason = recordDiff(hereRec, srcRec)
	}
	if reason != "" {
		im.rep.Conflicts = append(im.rep.Conflicts, ImportConflict{ID: id, Reason: reason})
		return nil
	}
	if im.known[id] {
		im.rep.Skipped = append(im.rep.Skipped, id)
		return nil
	}
	im.warn(id, "its directory was already here without ledger events (an import cut short?): events appended")
	return im.append(id, lines)
}

// add copies the run's directory into the work directory, checks it,
// renames it into place and appends its events.
func (im *importJob) add(id string, lines []sourceLine) error {
	staged := filepath.Join(im.from.root, id)
	if !im.from.extracted {
		staged = filepath.Join(im.from.work, "run-"+id)
		if err := copyRunDir(im.ctx, filepath.Join(im.from.root, id), staged); err != nil {
			os.RemoveAll(staged)
			if im.ctx.Err() != nil {
				return im.ctx.Err()
			}
			im.reject(id, "not imported: "+err.Error())
			return nil
		}
	}
	if err := im.ctx.Err(); err != nil {
		return err // not yet in place: nothing of the run is here
	}
	if err := checkRunDir(staged); err != nil {
		im.reject(id, "not imported: "+err.Error())
		return nil
	}
	if err := os.Rename(staged, im.l.RunDir(id)); err != nil {
		return fmt.Errorf("import run %s: move into place: %w", id, err)
	}
	return im.append(id, lines)
}

func (im *importJob) append(id string, lines []sourceLine) error {
	raw := make([][]byte, len(lines))
	for i, ln := range lines {
		raw[i] = ln.raw
	}
	if err := im.l.appendSourceLines(raw); err != nil {
		return fmt.Errorf("import run %s: %w", id, err)
	}
	im.known[id] = true
	im.rep.Added = append(im.rep.Added, id)
	return nil
}

// warnUnlisted warns about run directories of src that its ledger never
// mentions, and about other directories that are not runs at all.
func (im *importJob) warnUnlisted(byRun map[string][]sourceLine) {
	entries, _ := os.ReadDir(im.from.root)
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || name == SweepsDir || byRun[name] != nil {
			continue
		}
		if validID(name) {
			im.warn(name, "src has its directory but no ledger events: not imported")
		} else {
			im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("%s: not a run directory, ignored", filepath.Join(im.from.root, name)))
		}
	}
}

func (im *importJob) reject(id, why string) {
	im.rep.Rejected = append(im.rep.Rejected, fmt.Sprintf("run %q: %s", id, why))
}

func (im *importJob) warn(id, msg string) {
	im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("run %s: %s", id, msg))
}

// validID reports whether id is a UUID in canonical form: lowercase hex
// digits in groups of 8-4-4-4-12. Nothing else may name a run directory.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// readSourceRecord reads src/<id>/run.json; nil, nil when src has no directory
// for the run. The read goes through an os.Root: a run.json that is a link
// out of the run directory is an error, not a read of the file it names.
func readSourceRecord(src, id string) ([]byte, error) {
	st, err := os.Lstat(filepath.Join(src, id))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("its directory in src is a %s", kindOf(st.Mode()))
	}
	root, err := os.OpenRoot(filepath.Join(src, id))
	if err != nil {
		return nil, err
	}
	defer root.Close()
	b, err := root.ReadFile("run.json")
	if err != nil {
		return nil, fmt.Errorf("its run.json is unreadable: %w", err)
	}
	if !json.Valid(b) {
		return nil, errors.New("its run.json is not valid JSON")
	}
	return b, nil
}

// recordHere reads this ledger's run.json of a run (nil when missing or
// unreadable) and says whether its directory exists.
func recordHere(dir string) (rec []byte, exists bool) {
	if _, err := os.Lstat(dir); err != nil {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil || !json.Valid(b) {
		return nil, true
	}
	return b, true
}

// recordDiff compares two run.json files as JSON values and says how they
// differ, or "" when they are the same.
func recordDiff(here, there []byte) string {
	var a, b map[string]any
	if json.Unmarshal(here, &a) != nil || json.Unmarshal(there, &b) != nil {
		if bytes.Equal(here, there) {
			return ""
		}
		return "run.json differs"
	}
	var keys []string
	for k := range a {
		if !reflect.DeepEqual(a[k], b[k]) {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	reason := "run.json differs in " + strings.Join(keys, ", ")
	if sa, sb := a["status"], b["status"]; !reflect.DeepEqual(sa, sb) {
		reason += fmt.Sprintf(" (status %v here, %v in src)", sa, sb)
	}
	return reason
}

// lockImports takes an exclusive lock on the ledger directory itself, so that
// two imports into one ledger do not both add the same run. Appends lock
// ledger.jsonl and do not wait for it.
func lockImports(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("import: open %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("import: lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// removeStaleStaging removes work directories of imports that were killed: with
// the lock held, no other import is running.
func removeStaleStaging(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".import-*"))
	for _, s := range stale {
		os.RemoveAll(s)
	}
}
