package sweep

import (
	"context"
	"io"
	"time"
)

// Tracker shows the progress of a sweep whose trials run elsewhere — the
// tasks of a Slurm job array — with the board and display of a local
// sweep: the caller reports each trial as it is seen to start and end.
type Tracker struct {
	b     *board
	d     display
	spec  *Spec
	total int
}

// NewTracker shows the progress of total trials of spec on out (redrawn in
// place when live, else plain lines every interval), with slots trials at
// a time; runDir finds a running trial's run directory, whose
// out/metrics.jsonl gives its latest metrics.
func NewTracker(ctx context.Context, spec *Spec, total, slots int, out io.Writer, live bool, interval time.Duration, runDir func(id string) string) *Tracker {
	b := newBoard(spec, total, max(1, slots), runDir)
	return &Tracker{b: b, d: newDisplay(ctx, b, out, live, interval), spec: spec, total: total}
}

// Started reports trial t running at where (a Slurm task: "slurm 4242_3"),
// as run runID once it has one ("" until then). It may be called again as
// the run id becomes known.
func (k *Tracker) Started(t Trial, where, runID string) {
	k.b.mu.Lock()
	_, known := k.b.running[t.Index]
	k.b.mu.Unlock()
	if !known {
		k.b.start(t, Slot{Label: where})
		k.d.trialStarted(t.Index)
	}
	if runID != "" {
		k.b.started(t.Index, runID)
	}
}

// Ended reports how trial o.Trial ended (o.Slot.Label says where) and
// prints its line, as a local sweep does.
func (k *Tracker) Ended(o Outcome) {
	k.b.end(o)
	k.d.println(trialLine(o, k.spec.Metric, k.total))
}

// Println prints a line above the progress.
func (k *Tracker) Println(line string) { k.d.println(line) }

// Stop stops the display.
func (k *Tracker) Stop() { k.d.stop() }
