package ledger

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/record"
)

// sourceLine is one ledger line of src: kept as written, so that fields this
// version of magelab does not know survive the import.
type sourceLine struct {
	ev  record.Event
	raw []byte
}

// readSourceLines reads a ledger keeping each event's line as written. Lines
// are judged as readEvents judges them: one that does not decode, or names
// no run, is skipped with a warning.
func readSourceLines(path string) ([]sourceLine, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var lines []sourceLine
	warnings, err := scanEvents(f, path, func(ev record.Event, raw []byte) {
		lines = append(lines, sourceLine{ev: ev, raw: bytes.Clone(raw)})
	})
	if err != nil {
		return nil, warnings, err
	}
	return lines, warnings, nil
}

// appendSourceLines appends a run's ledger lines in one write under the ledger
// lock, as Append does for one line, so that a run's events land together.
func (l *Ledger) appendSourceLines(lines [][]byte) error {
	var buf bytes.Buffer
	for _, ln := range lines {
		buf.Write(ln)
		buf.WriteByte('\n')
	}
	return l.appendLines(buf.Bytes())
}

// importSource is where the runs to import are: a directory holding
// ledger.jsonl, either in src or in an archive extracted under work.
type importSource struct {
	root      string
	work      string
	extracted bool              // root is under work: run directories move into place without a copy
	tainted   map[string]string // run id → why an archive entry of its directory was rejected
}

func openSource(ctx context.Context, src, work string, rep *ImportReport, opts ImportOptions) (importSource, error) {
	from := importSource{work: work}
	st, err := os.Stat(src)
	if err != nil {
		return from, fmt.Errorf("import: %w", err)
	}
	dir := src
	if !st.IsDir() {
		dir = filepath.Join(work, "src")
		if from.tainted, err = extract(ctx, src, dir, rep, opts); err != nil {
			return from, err
		}
		from.extracted = true
	}
	from.root, err = findLedger(dir, src)
	return from, err
}

// findLedger finds ledger.jsonl in dir, or in the one directory inside
// dir that has it (a project directory, or an archive of runs/ itself).
func findLedger(dir, src string) (string, error) {
	if isFile(filepath.Join(dir, "ledger.jsonl")) {
		return dir, nil
	}
	entries, _ := os.ReadDir(dir)
	var found []string
	for _, e := range entries {
		if e.IsDir() && isFile(filepath.Join(dir, e.Name(), "ledger.jsonl")) {
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

func isFile(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}
