package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/magelab/magelab/internal/record"
)

// Ledger is a runs/ directory: ledger.jsonl plus one directory per run.
type Ledger struct {
	Dir string
}

// Open returns the ledger in dir; nothing is created until the first append.
func Open(dir string) *Ledger { return &Ledger{Dir: dir} }

func (l *Ledger) Path() string { return filepath.Join(l.Dir, "ledger.jsonl") }

// RunDir is the directory of run id.
func (l *Ledger) RunDir(id string) string { return filepath.Join(l.Dir, id) }

// SweepsDir is the directory in the ledger that holds a directory per
// sweep (its Optuna study), beside the runs'.
const SweepsDir = "sweeps"

// SweepDir is the directory of sweep id: runs/sweeps/<id>.
func (l *Ledger) SweepDir(id string) string { return filepath.Join(l.Dir, SweepsDir, id) }

// Append writes ev as one line under an exclusive lock. The line is written
// with a single write call on an O_APPEND file, so a crash leaves at most a
// torn last line, which readers skip and the next append repairs.
func (l *Ledger) Append(ev record.Event) error {
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode ledger event: %w", err)
	}
	return l.appendLines(append(line, '\n'))
}

// appendLines writes whole newline-terminated lines with one write call
// under the ledger's exclusive lock, first ending a torn last line.
func (l *Ledger) appendLines(data []byte) error {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("create ledger dir: %w", err)
	}
	f, err := os.OpenFile(l.Path(), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock ledger %s: %w", l.Path(), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	torn, err := endsTorn(f)
	if err != nil {
		return fmt.Errorf("read ledger %s: %w", l.Path(), err)
	}
	if torn {
		// Terminate the torn line so these lines start on a line of their own.
		data = append([]byte{'\n'}, data...)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("append to ledger %s: %w", l.Path(), err)
	}
	return nil
}

// endsTorn reports whether the file is non-empty and its last byte is not a newline.
func endsTorn(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false, err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, st.Size()-1); err != nil {
		return false, err
	}
	return b[0] != '\n', nil
}

// Events reads every event in order. Lines that do not decode (a torn line
// from a crash) are skipped and reported in warnings; they never fail the read.
func (l *Ledger) Events() (events []record.Event, warnings []string, err error) {
	f, err := os.Open(l.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	return readEvents(f, l.Path())
}

func readEvents(r io.Reader, name string) ([]record.Event, []string, error) {
	var events []record.Event
	warnings, err := scanEvents(r, name, func(ev record.Event, _ []byte) { events = append(events, ev) })
	return events, warnings, err
}

// scanEvents calls fn with each readable event and its line. Lines that do
// not decode (a torn line from a crash) are skipped and reported in
// warnings; they never fail the read.
func scanEvents(r io.Reader, name string, fn func(ev record.Event, raw []byte)) ([]string, error) {
	var warnings []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev record.Event
		if err := json.Unmarshal(line, &ev); err != nil || (ev.Run == "" && !ev.IsSweep()) {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped an unreadable line (a write cut short by a crash?)", name, n))
			continue
		}
		fn(ev, line)
	}
	if err := sc.Err(); err != nil {
		return warnings, fmt.Errorf("read %s: %w", name, err)
	}
	return warnings, nil
}
