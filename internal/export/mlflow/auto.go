package mlflow

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
)

// Auto is the export an experiment's `export: {mlflow: auto}` asks for:
// train, eval and sweep export the runs they end, when the environment
// names a tracking server (MLFLOW_TRACKING_URI). It is off by default.
type Auto struct {
	Settings Settings
	Ledger   *ledger.Ledger
	Out      io.Writer
}

// On reports whether exp's runs are exported as they end, and when the
// block asks for it but no server is set, the note that says why not.
func (a Auto) On(exp *config.Experiment) (bool, string) {
	if !exp.Export.Auto() {
		return false, ""
	}
	if a.Settings.URI == "" {
		return false, fmt.Sprintf("%s asks for export: {mlflow: auto}, but %s is not set: nothing is exported (set it, or run runs:export -to=mlflow -uri=URL later)", filepath.Base(exp.File), EnvURI)
	}
	return true, ""
}

// Runs exports the runs with these ids (and their sweeps' parent runs).
func (a Auto) Runs(ctx context.Context, ids ...string) (*Result, error) {
	return Export(ctx, a.Ledger, Options{Settings: a.Settings, RunIDs: ids, Out: a.Out})
}

// Sweep exports the trials of sweep id as they end, until the returned
// function is called; it then exports the sweep once more (the last
// trials and the parent run with the best one) and returns that export's
// result. The watch's own exports say nothing: a sweep's live display
// owns the terminal.
func (a Auto) Sweep(ctx context.Context, id string) func() (*Result, error) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(wctx, a.Ledger, Options{Settings: a.Settings, SweepID: id}, 2*time.Second, func(*Result, error) {})
	}()
	return func() (*Result, error) {
		cancel()
		<-done
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return Export(ctx, a.Ledger, Options{Settings: a.Settings, SweepID: id, Out: a.Out})
	}
}
