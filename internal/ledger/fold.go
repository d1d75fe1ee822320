package ledger

import (
	"sync"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// Summaries folds the ledger's events into one summary per run, oldest first.
// A run still marked running whose process is gone on this host, or whose
// pid now belongs to a later process, is crashed.
func (l *Ledger) Summaries() ([]record.Summary, []string, error) {
	events, warnings, err := l.Events()
	if err != nil {
		return nil, warnings, err
	}
	return fold(events, proc.Hostname(), proc.Alive), warnings, nil
}

// fold folds events into summaries. alive reports whether the process with
// pid and start ticks (0: not recorded) still runs on host.
func fold(events []record.Event, host string, alive func(pid int, start uint64) bool) []record.Summary {
	index := map[string]int{}
	var out []record.Summary
	for _, ev := range events {
		if ev.IsSweep() {
			continue
		}
		i, ok := index[ev.Run]
		if !ok {
			i = len(out)
			index[ev.Run] = i
			out = append(out, record.Summary{ID: ev.Run, Metrics: map[string]float64{}})
		}
		Apply(&out[i], ev)
	}
	for i := range out {
		s := &out[i]
		if isCrashed(*s, host, alive) {
			s.Status = record.StatusCrashed
		}
	}
	return out
}

func Apply(s *record.Summary, ev record.Event) {
	switch ev.Type {
	case record.EventRunStarted:
		s.Experiment, s.SweepID, s.Key, s.Started = ev.Experiment, ev.SweepID, ev.Key, ev.Time
		s.Params, s.Git, s.GPU = ev.Params, ev.Git, ev.GPU
		s.Host, s.PID, s.PIDStart = ev.Host, ev.PID, ev.PIDStart
		s.Reproduces, s.Slurm = ev.Reproduces, ev.Slurm
		s.Status = record.StatusRunning
	case record.EventRunFinished:
		s.Status, s.Duration, s.Verdict, s.PrunedStep, s.Error = ev.Status, ev.Duration, ev.Verdict, ev.PrunedStep, ev.Error
		if ev.ExitCode != nil {
			s.ExitCode = *ev.ExitCode
		}
	}
	for k, v := range ev.Metrics {
		s.Metrics[k] = v
	}
}

// isCrashed is the crash rule: a run still marked running on this host whose
// process is gone, or whose pid now belongs to another process.
func isCrashed(s record.Summary, host string, alive func(pid int, start uint64) bool) bool {
	return s.Status == record.StatusRunning && s.Host == host && !alive(s.PID, s.PIDStart)
}

// Crashed is fold's rule for one run: still marked running, on this host,
// and its process gone (or its pid now another process's).
func Crashed(s record.Summary) bool {
	return isCrashed(s, localHost(), proc.Alive)
}

var localHost = sync.OnceValue(proc.Hostname)
