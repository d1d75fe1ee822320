package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/runner"
)

// runTrial trains one trial as a run of the sweep, in slot s. resume is an
// earlier attempt's output the trial may resume from.
func runTrial(ctx context.Context, p *runner.Project, exp *config.Experiment, sweepID string, t Trial, s Slot, force bool, resume string, started func(string)) Outcome {
	e, err := exp.With(t.Values)
	if err != nil {
		return Outcome{Status: record.StatusFailed, Err: err}
	}
	var devices *string
	if !s.Inherit {
		d := strings.Join(s.Devices, ",")
		devices = &d
	}
	log := &tailBuffer{max: 8 << 10}
	begin := time.Now()
	r, err := p.Train(ctx, e, runner.TrainOptions{Force: force,
		RunOptions: runner.RunOptions{SweepID: sweepID, Devices: devices, Env: s.Env(), Out: log, ResumeDir: resume},
		Started:    func(r *record.Run) { started(r.ID) }})
	o := Outcome{Duration: time.Since(begin), Err: err}
	if r != nil && r.Run != nil {
		o.RunID, o.Status, o.Metrics, o.Reused = r.Run.ID, r.Run.Status, r.Run.Metrics, r.UpToDate
		o.PrunedStep = r.Run.PrunedStep
	}
	switch {
	case err == nil:
		o.Status = record.StatusFinished
	case errors.Is(err, runner.ErrPruned):
		o.Status, o.Err = record.StatusPruned, nil
	case o.Status == record.StatusPreempted:
	case ctx.Err() != nil || o.Status == record.StatusInterrupted:
		o.Status = record.StatusInterrupted
	default:
		o.Status = record.StatusFailed
		if log.Len() > 0 && !hasLogTail(err) {
			o.Err = fmt.Errorf("%w\n%s", err, strings.TrimRight(log.String(), "\n"))
		}
	}
	return o
}

// hasLogTail reports whether err already carries the end of a stage log.
func hasLogTail(err error) bool {
	var se *runner.StageError
	return errors.As(err, &se) && len(se.LogTail) > 0
}

// trialLine is the line printed when a trial ends.
func trialLine(o Outcome, metric string, total int) string {
	head := fmt.Sprintf("trial %d/%d [%s] %s", o.Trial.Index+1, total, o.Slot.Name(), o.Trial.Label())
	switch {
	case o.Reused:
		return fmt.Sprintf("%s: reused run %s (finished earlier): %s", head, o.RunID, formatMetrics(o.Metrics, metric, 4))
	case o.OK():
		return fmt.Sprintf("%s: finished in %s: %s (run %s)", head, formatDuration(o.Duration), formatMetrics(o.Metrics, metric, 4), o.RunID)
	case o.Status == record.StatusInterrupted:
		return fmt.Sprintf("%s: interrupted after %s", head, formatDuration(o.Duration))
	case o.Status == record.StatusPruned:
		return fmt.Sprintf("%s: %s after %s (run %s)", head, prunedText(o), formatDuration(o.Duration), o.RunID)
	case o.Status == record.StatusPreempted:
		return fmt.Sprintf("%s: preempted after %s (run it again to resume from its output): %s", head, formatDuration(o.Duration), indent(errText(o.Err)))
	}
	msg := "failed"
	if o.Err != nil {
		msg = "failed: " + indent(o.Err.Error())
	}
	return fmt.Sprintf("%s: %s after %s", head, msg, formatDuration(o.Duration))
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// tailBuffer keeps the last max bytes written to it: a trial's output,
// for the failure message.
type tailBuffer struct {
	bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n, _ := t.Buffer.Write(p)
	if over := t.Len() - t.max; over > 0 {
		t.Next(over)
	}
	return n, nil
}

// prunedText is "pruned at step 3", or "pruned" when the step is unknown.
func prunedText(o Outcome) string {
	if o.PrunedStep == nil {
		return "pruned"
	}
	return fmt.Sprintf("pruned at step %d", *o.PrunedStep)
}
