package tracking

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Summary is what the ledger knows of one run, folded from its events.
type Summary struct {
	ID         string
	Experiment string
	SweepID    string
	Key        string
	Status     Status
	ExitCode   int
	Started    time.Time
	Duration   float64
	Params     map[string]any
	Metrics    map[string]float64
	Git        *GitBrief
	GPU        string
	Host       string
	PID        int
	PIDStart   uint64
	Reproduces string // the run this one reproduces
	Verdict    string // a reproduction's verdict: reproduced or drifted
}

// NewID returns a new run id: a UUIDv7, time-ordered and unique across
// machines, so ledgers from several machines merge without clashes.
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new run id: %w", err)
	}
	return id.String(), nil
}

// Summaries folds the ledger's events into one summary per run, oldest first.
// A run still marked running whose process is gone on this host, or whose
// pid now belongs to a later process, is crashed.
func (l *Ledger) Summaries() ([]Summary, []string, error) {
	events, warnings, err := l.Events()
	if err != nil {
		return nil, warnings, err
	}
	return fold(events, hostname(), processAlive), warnings, nil
}

// fold folds events into summaries. alive reports whether the process with
// pid and start ticks (0: not recorded) still runs on host.
func fold(events []Event, host string, alive func(pid int, start uint64) bool) []Summary {
	index := map[string]int{}
	var out []Summary
	for _, ev := range events {
		if ev.IsSweep() {
			continue
		}
		i, ok := index[ev.Run]
		if !ok {
			i = len(out)
			index[ev.Run] = i
			out = append(out, Summary{ID: ev.Run, Metrics: map[string]float64{}})
		}
		apply(&out[i], ev)
	}
	for i := range out {
		s := &out[i]
		if isCrashed(*s, host, alive) {
			s.Status = StatusCrashed
		}
	}
	return out
}

func apply(s *Summary, ev Event) {
	switch ev.Type {
	case EventRunStarted:
		s.Experiment, s.SweepID, s.Key, s.Started = ev.Experiment, ev.SweepID, ev.Key, ev.Time
		s.Params, s.Git, s.GPU = ev.Params, ev.Git, ev.GPU
		s.Host, s.PID, s.PIDStart = ev.Host, ev.PID, ev.PIDStart
		s.Reproduces = ev.Reproduces
		s.Status = StatusRunning
	case EventRunFinished:
		s.Status, s.Duration, s.Verdict = ev.Status, ev.Duration, ev.Verdict
		if ev.ExitCode != nil {
			s.ExitCode = *ev.ExitCode
		}
	}
	for k, v := range ev.Metrics {
		s.Metrics[k] = v
	}
}

// processAlive reports whether pid runs and, when start is not 0, is still
// the process that started at those ticks rather than a later one that
// reuses its pid. A zombie is gone: it only waits to be reaped. When /proc
// cannot tell (not Linux, hidepid, no permission), the signal check decides.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	signalled := err == nil
	state, got, err := procStat(pid)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Exited since the signal, unless /proc is absent or hides the
		// processes of other users.
		return !signalled || !procFSMounted()
	case err != nil:
		return true
	case state == 'Z':
		return false
	}
	return start == 0 || got == start
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// isCrashed is the crash rule: a run still marked running on this host whose
// process is gone, or whose pid now belongs to another process.
func isCrashed(s Summary, host string, alive func(pid int, start uint64) bool) bool {
	return s.Status == StatusRunning && s.Host == host && !alive(s.PID, s.PIDStart)
}
