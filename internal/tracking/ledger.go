package tracking

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Event types written to the ledger.
const (
	EventRunStarted   = "run.started"
	EventRunFinished  = "run.finished"
	EventRunEvaluated = "run.evaluated"

	// A sweep's own events have no run: "run" is empty and "sweep" names it.
	EventSweepStarted  = "sweep.started"
	EventSweepFinished = "sweep.finished"
)

// Event is one line of runs/ledger.jsonl. Each event carries enough to list
// and query runs without opening their run.json files: run.started holds
// what the run was made from (params, git, host), run.finished how it ended
// and its metrics, run.evaluated the metrics an eval added. A run's started
// event is always its first, so a reader going backwards from the end of the
// ledger knows a run is complete when it meets run.started.
//
// A reproduction (`reproduce`) is a run like any other whose run.started
// names the run it reruns (Reproduces) and whose run.finished carries the
// verdict of the metric comparison: reproduced or drifted.
//
// Run is the first field so that a scanner finds the id at a fixed offset.
type Event struct {
	Run        string             `json:"run"`
	Type       string             `json:"type"`
	Time       time.Time          `json:"time"`
	Experiment string             `json:"experiment,omitempty"`
	SweepID    string             `json:"sweep,omitempty"`
	Key        string             `json:"key,omitempty"`
	Params     map[string]any     `json:"params,omitempty"` // flattened: "train.lr" → 0.01
	Git        *GitBrief          `json:"git,omitempty"`
	GPU        string             `json:"gpu,omitempty"` // e.g. "1x NVIDIA H200"
	Host       string             `json:"host,omitempty"`
	PID        int                `json:"pid,omitempty"`
	PIDStart   uint64             `json:"pid_start,omitempty"` // process start time, clock ticks since boot (/proc/PID/stat)
	Reproduces string             `json:"reproduces,omitempty"`
	Status     Status             `json:"status,omitempty"`
	ExitCode   *int               `json:"exit_code,omitempty"`
	Duration   float64            `json:"duration_s,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Verdict    string             `json:"verdict,omitempty"`

	// Sweep events: the sweep's spec as resolved (sweep.started), its
	// trials' run ids in trial order and the best of them (sweep.finished).
	Spec   map[string]any `json:"spec,omitempty"`
	Trials []string       `json:"trials,omitempty"`
	Best   string         `json:"best,omitempty"`
}

// IsSweep reports whether ev is one of a sweep's own events.
func (ev Event) IsSweep() bool {
	return ev.Run == "" && ev.SweepID != "" && strings.HasPrefix(ev.Type, "sweep.")
}

// GitBrief is the part of a run's git stamp that listings show.
type GitBrief struct {
	SHA    string `json:"sha"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty,omitempty"`
}

// Ledger is a runs/ directory: ledger.jsonl plus one directory per run.
type Ledger struct {
	Dir string
}

// Open returns the ledger in dir; nothing is created until the first append.
func Open(dir string) *Ledger { return &Ledger{Dir: dir} }

func (l *Ledger) path() string { return filepath.Join(l.Dir, "ledger.jsonl") }

// RunDir is the directory of run id.
func (l *Ledger) RunDir(id string) string { return filepath.Join(l.Dir, id) }

// Append writes ev as one line under an exclusive lock. The line is written
// with a single write call on an O_APPEND file, so a crash leaves at most a
// torn last line, which readers skip and the next append repairs.
func (l *Ledger) Append(ev Event) error {
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
	f, err := os.OpenFile(l.path(), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock ledger %s: %w", l.path(), err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	torn, err := endsTorn(f)
	if err != nil {
		return fmt.Errorf("read ledger %s: %w", l.path(), err)
	}
	if torn {
		// Terminate the torn line so these lines start on a line of their own.
		data = append([]byte{'\n'}, data...)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("append to ledger %s: %w", l.path(), err)
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
func (l *Ledger) Events() (events []Event, warnings []string, err error) {
	f, err := os.Open(l.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	return readEvents(f, l.path())
}

func readEvents(r io.Reader, name string) ([]Event, []string, error) {
	var events []Event
	warnings, err := scanEvents(r, name, func(ev Event, _ []byte) { events = append(events, ev) })
	return events, warnings, err
}

// scanEvents calls fn with each readable event and its line. Lines that do
// not decode (a torn line from a crash) are skipped and reported in
// warnings; they never fail the read.
func scanEvents(r io.Reader, name string, fn func(ev Event, raw []byte)) ([]string, error) {
	var warnings []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev Event
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
