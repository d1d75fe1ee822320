package mlflow

import (
	"fmt"
	"strings"
)

// Result is what an export did.
type Result struct {
	Server                      string
	Created, Updated, Unchanged int // runs, sweeps' parent runs among them
	Sweeps                      int // sweeps' parent runs looked at
	Running                     int // runs left for later: still running
	Deleted                     int // runs left alone: deleted in MLflow
	Failed                      int // runs whose export failed (see the error)
	Requests                    int64
	Uploaded                    int64 // artifact bytes sent
	Warnings                    []string
}

// String is the one-line summary of the export.
func (r *Result) String() string {
	parts := []string{fmt.Sprintf("%d created", r.Created), fmt.Sprintf("%d updated", r.Updated), fmt.Sprintf("%d up to date", r.Unchanged)}
	if r.Running > 0 {
		parts = append(parts, fmt.Sprintf("%d still running (exported once they end)", r.Running))
	}
	if r.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted in MLflow (left alone; restore them there to export again)", r.Deleted))
	}
	if r.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", r.Failed))
	}
	s := fmt.Sprintf("mlflow %s: %s", r.Server, strings.Join(parts, ", "))
	if r.Sweeps > 0 {
		s += fmt.Sprintf(" (%d sweep parent run(s) among them)", r.Sweeps)
	}
	s += fmt.Sprintf("; %d request(s)", r.Requests)
	if r.Uploaded > 0 {
		s += ", " + size(r.Uploaded) + " of artifacts"
	}
	return s
}

// count adds a run's outcome to the result and says what happened to it.
func (x *exporter) count(t target, res synced, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.res.Uploaded += res.Uploaded
	x.res.Warnings = append(x.res.Warnings, res.Warnings...)
	for _, w := range res.Warnings {
		x.sayLocked("warning: %s", w)
	}
	if !ok {
		x.res.Failed++
		return
	}
	what := ""
	switch res.Outcome {
	case created:
		x.res.Created++
		what = "created"
	case updated:
		x.res.Updated++
		what = "updated"
	case unchanged:
		x.res.Unchanged++
	case deleted:
		x.res.Deleted++
	}
	if what != "" {
		x.sayLocked("%s %s (%s, %s): %s/#/experiments/%s/runs/%s", what, t.Name, t.Experiment, strings.ToLower(t.Status), x.c.server(), res.ExperimentID, res.RunID)
	}
}

// warn records warnings and prints them.
func (x *exporter) warn(ws ...string) {
	if len(ws) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, w := range ws {
		x.res.Warnings = append(x.res.Warnings, w)
		x.sayLocked("warning: %s", w)
	}
}

func (x *exporter) say(format string, args ...any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sayLocked(format, args...)
}

func (x *exporter) sayLocked(format string, args ...any) {
	if x.o.Out != nil {
		fmt.Fprintf(x.o.Out, "mlflow: "+format+"\n", args...)
	}
}
