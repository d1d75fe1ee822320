package slurm

import (
	"fmt"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// closeRun records the end of run id in l from outside the process that
// ran it (which is gone): its run.json gets status and why (and, when it
// recorded no end, at as its end: zero for now), and l a run.finished,
// which the ledger folds over any earlier one.
func closeRun(l *ledger.Ledger, id string, status record.Status, why string, at time.Time) error {
	now := time.Now().UTC()
	if !at.IsZero() {
		now = at.UTC()
	}
	code := 1
	r, err := l.ReadRecord(id)
	if err == nil {
		if r.Error != "" {
			why += "; " + r.Error
		}
		r.Error = why
		if now.Before(r.Started) {
			now = time.Now().UTC()
		}
		if r.Ended == nil {
			r.Finish(status, code, now)
		} else {
			r.Status, code = status, r.ExitCode
		}
		if err := l.WriteRecord(r); err != nil {
			return err
		}
	}
	ev := record.Event{Type: record.EventRunFinished, Time: now, Run: id, Status: status, ExitCode: &code}
	if r != nil {
		ev.Duration, ev.Metrics = r.DurationSec, r.Metrics
	}
	if err := l.Append(ev); err != nil {
		return fmt.Errorf("record the end of run %s: %w", id, err)
	}
	return nil
}
