package ledger

import (
	"bufio"
	"bytes"
	"cmp"
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
	if len(line) > record.MaxEventLine {
		return fmt.Errorf("ledger event %s of %s is %d bytes, more than a ledger line may hold (%d): fewer or shorter params or metrics", ev.Type, cmp.Or(ev.Run, ev.SweepID), len(line), record.MaxEventLine)
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
// not decode (a torn line from a crash), and lines longer than
// record.MaxEventLine, are skipped and reported in warnings; they never fail
// the read, and a long line is never held in memory whole.
func scanEvents(r io.Reader, name string, fn func(ev record.Event, raw []byte)) ([]string, error) {
	var warnings []string
	br := bufio.NewReaderSize(r, 64*1024)
	var buf []byte
	for n := 1; ; n++ {
		var long int64
		var err error
		buf, long, err = readLine(br, buf[:0], record.MaxEventLine)
		if err != nil && err != io.EOF {
			return warnings, fmt.Errorf("read %s: %w", name, err)
		}
		line := bytes.TrimSpace(buf)
		switch {
		case long > 0:
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped a line of %d bytes, longer than a ledger line may be (%d)", name, n, long, record.MaxEventLine))
			line = nil
		case len(line) == 0 && err == io.EOF:
			return warnings, nil
		}
		if len(line) == 0 {
			if err == io.EOF {
				return warnings, nil
			}
			continue
		}
		var ev record.Event
		if err := json.Unmarshal(line, &ev); err != nil || (ev.Run == "" && !ev.IsSweep()) {
			warnings = append(warnings, fmt.Sprintf("%s:%d: skipped an unreadable line (a write cut short by a crash?)", name, n))
			continue
		}
		fn(ev, line)
		if err == io.EOF {
			return warnings, nil
		}
	}
}

// readLine reads one line (its newline dropped) into buf. A line longer
// than max is read to its end and dropped: buf comes back empty and long
// says how long it was.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, long int64, err error) {
	var n int64
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if long == 0 && len(buf)+len(chunk) <= max+1 {
			buf = append(buf, chunk...)
		} else {
			long, buf = n, buf[:0]
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case long > 0:
			return buf, n - 1, err
		}
		return bytes.TrimSuffix(buf, []byte("\n")), 0, err
	}
}
