package runner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrPruned is what a run's context is cancelled with (context.Cause) when
// early stopping stops it: the run's stages are interrupted as for Ctrl-C,
// and the run is recorded as pruned rather than interrupted.
var ErrPruned = errors.New("stopped by early stopping")

// Pruned is the cause a sweep cancels a trial's context with when its
// pruner says stop; errors.Is(p, ErrPruned) holds.
type Pruned struct {
	Step   int     // the step the pruner judged
	Metric string  // the metric it read
	Value  float64 // its value at Step
}

func (p *Pruned) Error() string {
	return fmt.Sprintf("pruned at step %d (%s=%s): its curve fell behind the other trials'", p.Step, p.Metric, strconv.FormatFloat(p.Value, 'g', 6, 64))
}

// Unwrap makes a Pruned an ErrPruned.
func (p *Pruned) Unwrap() error { return ErrPruned }

// prunedCause is ctx's cause when early stopping cancelled it, else nil.
func prunedCause(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, ErrPruned) {
		return cause
	}
	return nil
}
