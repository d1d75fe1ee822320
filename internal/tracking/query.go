package tracking

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
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
		if s.Status == StatusRunning && s.Host == host && !alive(s.PID, s.PIDStart) {
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
		s.Status = StatusRunning
	case EventRunFinished:
		s.Status, s.Duration = ev.Status, ev.Duration
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

// Newest returns the newest run of experiment with the given status ("" for
// any status), or false.
func Newest(runs []Summary, experiment string, status Status) (Summary, bool) {
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Experiment == experiment && (status == "" || r.Status == status) {
			return r, true
		}
	}
	return Summary{}, false
}

// FindFinished returns the newest finished run of experiment whose key is key.
func FindFinished(runs []Summary, experiment, key string) (Summary, bool) {
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Experiment == experiment && r.Key == key && r.Status == StatusFinished {
			return r, true
		}
	}
	return Summary{}, false
}

// Resolve finds the run whose id is short, or starts or ends with it. An
// ambiguous or unknown id is an error that lists candidates.
func Resolve(runs []Summary, short string) (Summary, error) {
	short = strings.ToLower(strings.TrimSpace(short))
	if short == "" {
		return Summary{}, errors.New("empty run id")
	}
	var hits []Summary
	for _, r := range runs {
		if r.ID == short {
			return r, nil
		}
		if strings.HasPrefix(r.ID, short) || strings.HasSuffix(r.ID, short) {
			hits = append(hits, r)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Summary{}, fmt.Errorf("no run matches %q (%d runs in the ledger; `go tool mage runs` lists them)", short, len(runs))
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].ID > hits[j].ID })
	ids := make([]string, 0, 5)
	for i, h := range hits {
		if i == 5 {
			ids = append(ids, fmt.Sprintf("… %d more", len(hits)-5))
			break
		}
		ids = append(ids, h.ID)
	}
	return Summary{}, fmt.Errorf("run id %q is ambiguous, it matches %d runs: %s (give more characters; the end of an id is more distinctive than its start)", short, len(hits), strings.Join(ids, ", "))
}
