package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"

	"github.com/magelab/magelab/internal/record"
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
func (l *Ledger) Import(src string) (ImportReport, error) {
	var rep ImportReport
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return rep, fmt.Errorf("import: create ledger dir: %w", err)
	}
	unlock, err := impLock(l.Dir)
	if err != nil {
		return rep, err
	}
	defer unlock()
	impRemoveStale(l.Dir)
	work, err := os.MkdirTemp(l.Dir, ".import-")
	if err != nil {
		return rep, fmt.Errorf("import: create work dir: %w", err)
	}
	defer os.RemoveAll(work)
	from, err := impSource(src, work, &rep)
	if err != nil {
		return rep, err
	}
	im := &impJob{l: l, from: from, rep: &rep}
	err = im.run() // before reading rep: run fills it in
	return rep, err
}

// impJob is one import of the ledger tree src (a directory, or an archive
// already extracted under work) into l.
type impJob struct {
	l     *Ledger
	from  impFrom
	rep   *ImportReport
	known map[string]bool // run ids with events in l's ledger

	sweepSeen map[string]bool // sweep events l's ledger holds (sweepEventKey)
}

func (im *impJob) run() error {
	lines, warnings, err := impReadLines(filepath.Join(im.from.root, "ledger.jsonl"))
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
	lines, sweeps := impSweepLines(lines)
	order, byRun := impGroup(lines)
	for _, id := range order {
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

// impLine is one ledger line of src: kept as written, so that fields this
// version of magelab does not know survive the import.
type impLine struct {
	ev  record.Event
	raw []byte
}

// impGroup groups lines by run, runs in order of first mention.
func impGroup(lines []impLine) ([]string, map[string][]impLine) {
	var order []string
	byRun := map[string][]impLine{}
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
func (im *impJob) importRun(id string, lines []impLine) error {
	if !impValidID(id) {
		im.reject(id, "not a run id (want a UUID in lowercase hex with dashes, 8-4-4-4-12); nothing of it was imported")
		return nil
	}
	if why, ok := im.from.tainted[id]; ok {
		im.reject(id, "not imported: "+why)
		return nil
	}
	srcRec, err := impReadRecord(im.from.root, id)
	if err != nil {
		im.reject(id, "not imported: "+err.Error())
		return nil
	}
	hereRec, hereDir := impHere(im.l.RunDir(id))
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
func (im *impJob) compare(id string, lines []impLine, srcRec, hereRec []byte, hereDir bool) error {
	var reason string
	switch {
	case srcRec == nil:
		reason = "a directory for it exists here without ledger events, and src has none to compare it with"
	case hereRec == nil && hereDir:
		reason = "its directory here has no readable run.json to compare with src's"
	case hereRec == nil:
		reason = "this ledger has its events but not its directory (imported from a ledger without it?); src has one"
	default:
		reason = impRecordDiff(hereRec, srcRec)
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
func (im *impJob) add(id string, lines []impLine) error {
	staged := filepath.Join(im.from.root, id)
	if !im.from.extracted {
		staged = filepath.Join(im.from.work, "run-"+id)
		if err := impCopyDir(filepath.Join(im.from.root, id), staged); err != nil {
			os.RemoveAll(staged)
			im.reject(id, "not imported: "+err.Error())
			return nil
		}
	}
	if err := impCheckRun(staged); err != nil {
		im.reject(id, "not imported: "+err.Error())
		return nil
	}
	if err := os.Rename(staged, im.l.RunDir(id)); err != nil {
		return fmt.Errorf("import run %s: move into place: %w", id, err)
	}
	return im.append(id, lines)
}

func (im *impJob) append(id string, lines []impLine) error {
	raw := make([][]byte, len(lines))
	for i, ln := range lines {
		raw[i] = ln.raw
	}
	if err := im.l.impAppendLines(raw); err != nil {
		return fmt.Errorf("import run %s: %w", id, err)
	}
	im.known[id] = true
	im.rep.Added = append(im.rep.Added, id)
	return nil
}

// warnUnlisted warns about run directories of src that its ledger never
// mentions, and about other directories that are not runs at all.
func (im *impJob) warnUnlisted(byRun map[string][]impLine) {
	entries, _ := os.ReadDir(im.from.root)
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".") || byRun[name] != nil {
			continue
		}
		if impValidID(name) {
			im.warn(name, "src has its directory but no ledger events: not imported")
		} else {
			im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("%s: not a run directory, ignored", filepath.Join(im.from.root, name)))
		}
	}
}

func (im *impJob) reject(id, why string) {
	im.rep.Rejected = append(im.rep.Rejected, fmt.Sprintf("run %q: %s", id, why))
}

func (im *impJob) warn(id, msg string) {
	im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("run %s: %s", id, msg))
}

// impValidID reports whether id is a UUID in canonical form: lowercase hex
// digits in groups of 8-4-4-4-12. Nothing else may name a run directory.
func impValidID(id string) bool {
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

// impReadRecord reads src/<id>/run.json; nil, nil when src has no directory
// for the run. The read goes through an os.Root: a run.json that is a link
// out of the run directory is an error, not a read of the file it names.
func impReadRecord(src, id string) ([]byte, error) {
	st, err := os.Lstat(filepath.Join(src, id))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !st.IsDir():
		return nil, fmt.Errorf("its directory in src is a %s", impKind(st.Mode()))
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

// impHere reads this ledger's run.json of a run (nil when missing or
// unreadable) and says whether its directory exists.
func impHere(dir string) (rec []byte, exists bool) {
	if _, err := os.Lstat(dir); err != nil {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil || !json.Valid(b) {
		return nil, true
	}
	return b, true
}

// impRecordDiff compares two run.json files as JSON values and says how they
// differ, or "" when they are the same.
func impRecordDiff(here, there []byte) string {
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

// impCopyDir copies the directory tree src to dst, which must not exist.
// Reads go through an os.Root of src, so a tree changed under our feet still
// cannot make us read outside it; symlinks are copied as links, to be judged
// by impCheckRun, and anything but files, directories and links is refused.
func impCopyDir(src, dst string) error {
	root, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(rel))
		switch t := d.Type(); {
		case t.IsDir():
			return os.Mkdir(to, 0o755)
		case t&fs.ModeSymlink != 0:
			target, err := root.Readlink(rel)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case t.IsRegular():
			return impCopyFile(root, rel, to)
		default:
			return fmt.Errorf("%s is a %s, not a file", rel, impKind(t))
		}
	})
}

func impCopyFile(root *os.Root, rel, to string) error {
	in, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a file", rel, impKind(st.Mode()))
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", rel, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(to, st.ModTime(), st.ModTime())
}

// impCheckRun checks a staged run directory before it goes into place: only
// regular files, directories and relative symlinks that resolve (through
// any other links) to something inside the directory.
func impCheckRun(dir string) error {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch t := d.Type(); {
		case t.IsDir(), t.IsRegular():
			return nil
		case t&fs.ModeSymlink != 0:
			return impCheckLink(base, dir, rel)
		default:
			return fmt.Errorf("%s is a %s, not a file", rel, impKind(t))
		}
	})
}

func impCheckLink(base, dir, rel string) error {
	path := filepath.Join(dir, rel)
	target, err := os.Readlink(path)
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) {
		return fmt.Errorf("%s is a symlink to the absolute path %s, outside the run directory", rel, target)
	}
	if !impUnder(filepath.Join(filepath.Dir(rel), target), "") {
		return fmt.Errorf("%s is a symlink to %s, outside the run directory", rel, target)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s is a symlink to %s, which does not resolve: %w", rel, target, err)
	}
	if !impUnder(resolved, base) {
		return fmt.Errorf("%s is a symlink to %s, which leads outside the run directory through other links", rel, target)
	}
	return nil
}

// impUnder reports whether path is base or beneath it, lexically; with base
// "" it reports whether a relative path stays where it starts.
func impUnder(path, base string) bool {
	rel := filepath.Clean(path)
	if base != "" {
		var err error
		if rel, err = filepath.Rel(base, path); err != nil {
			return false
		}
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// impKind names a file type for messages.
func impKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device file"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	}
	return "special file (" + m.Type().String() + ")"
}

// impLock takes an exclusive lock on the ledger directory itself, so that
// two imports into one ledger do not both add the same run. Appends lock
// ledger.jsonl and do not wait for it.
func impLock(dir string) (func(), error) {
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

// impRemoveStale removes work directories of imports that were killed: with
// the lock held, no other import is running.
func impRemoveStale(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".import-*"))
	for _, s := range stale {
		os.RemoveAll(s)
	}
}

// impReadLines reads a ledger keeping each event's line as written. Lines
// are judged as readEvents judges them: one that does not decode, or names
// no run, is skipped with a warning.
func impReadLines(path string) ([]impLine, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var lines []impLine
	warnings, err := scanEvents(f, path, func(ev record.Event, raw []byte) {
		lines = append(lines, impLine{ev: ev, raw: bytes.Clone(raw)})
	})
	if err != nil {
		return nil, warnings, err
	}
	return lines, warnings, nil
}

// impAppendLines appends a run's ledger lines in one write under the ledger
// lock, as Append does for one line, so that a run's events land together.
func (l *Ledger) impAppendLines(lines [][]byte) error {
	var buf bytes.Buffer
	for _, ln := range lines {
		buf.Write(ln)
		buf.WriteByte('\n')
	}
	return l.appendLines(buf.Bytes())
}

// impFrom is where the runs to import are: a directory holding
// ledger.jsonl, either in src or in an archive extracted under work.
type impFrom struct {
	root      string
	work      string
	extracted bool              // root is under work: run directories move into place without a copy
	tainted   map[string]string // run id → why an archive entry of its directory was rejected
}

func impSource(src, work string, rep *ImportReport) (impFrom, error) {
	from := impFrom{work: work}
	st, err := os.Stat(src)
	if err != nil {
		return from, fmt.Errorf("import: %w", err)
	}
	dir := src
	if !st.IsDir() {
		dir = filepath.Join(work, "src")
		if from.tainted, err = impExtract(src, dir, rep); err != nil {
			return from, err
		}
		from.extracted = true
	}
	from.root, err = impFindLedger(dir, src)
	return from, err
}

// impFindLedger finds ledger.jsonl in dir, or in the one directory inside
// dir that has it (a project directory, or an archive of runs/ itself).
func impFindLedger(dir, src string) (string, error) {
	if impIsFile(filepath.Join(dir, "ledger.jsonl")) {
		return dir, nil
	}
	entries, _ := os.ReadDir(dir)
	var found []string
	for _, e := range entries {
		if e.IsDir() && impIsFile(filepath.Join(dir, e.Name(), "ledger.jsonl")) {
			found = append(found, e.Name())
		}
	}
	switch len(found) {
	case 1:
		return filepath.Join(dir, found[0]), nil
	case 0:
		return "", fmt.Errorf("import %s: no ledger.jsonl in it nor in a directory inside it; give the runs/ directory of a magelab project, or an archive of one", src)
	}
	return "", fmt.Errorf("import %s: several ledgers inside it (%s); import them one at a time", src, strings.Join(found, ", "))
}

func impIsFile(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}
