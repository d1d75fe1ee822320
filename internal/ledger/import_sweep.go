package ledger

import (
	"encoding/json"
	"fmt"

	"github.com/magelab/magelab/internal/record"
)

// splitSweepLines splits a sweep's own events (no run id) from the runs' lines.
func splitSweepLines(lines []sourceLine) (runs, sweeps []sourceLine) {
	for _, ln := range lines {
		if ln.ev.IsSweep() {
			sweeps = append(sweeps, ln)
		} else {
			runs = append(runs, ln)
		}
	}
	return runs, sweeps
}

// sweepEventKey identifies a sweep event by its content: the same event
// imported twice, or from two runners' copies of one ledger, is kept once.
func sweepEventKey(ev record.Event) string {
	b, _ := json.Marshal(ev)
	return string(b)
}

// appendSweeps appends the sweep events of src that l does not hold yet, in
// src order, in one locked write.
func (im *importJob) appendSweeps(lines []sourceLine) error {
	var raw [][]byte
	for _, ln := range lines {
		k := sweepEventKey(ln.ev)
		if im.sweepSeen[k] {
			continue
		}
		im.sweepSeen[k] = true
		raw = append(raw, ln.raw)
	}
	if len(raw) == 0 {
		return nil
	}
	if err := im.l.appendSourceLines(raw); err != nil {
		return fmt.Errorf("import sweep events: %w", err)
	}
	im.rep.SweepEvents += len(raw)
	return nil
}
