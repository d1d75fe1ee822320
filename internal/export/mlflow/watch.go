package mlflow

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/magelab/magelab/internal/ledger"
)

// Watch exports as Export does, then again each time the ledger changes
// (a run finished, an eval added metrics), until ctx is done: a long
// sweep's trials reach MLflow as they end. Each export's result goes to
// report. An error a retry may cure (the server unreachable for a while)
// is reported and the export tried again after retryAfter; one that no
// retry cures (credentials refused, bad options) ends the watch. Its end
// by ctx is not an error.
func Watch(ctx context.Context, l *ledger.Ledger, o Options, poll time.Duration, report func(*Result, error)) error {
	const retryAfter = 10 * time.Second
	if poll <= 0 {
		poll = time.Second
	}
	for {
		seen := stateOf(l)
		res, err := Export(ctx, l, o)
		if ctx.Err() != nil {
			return nil
		}
		report(res, err)
		switch {
		case err != nil && !transient(err):
			return err
		case err != nil:
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(retryAfter):
			}
		case !waitForChange(ctx, l, seen, poll):
			return nil
		}
	}
}

// transient reports whether a retry later may cure err.
func transient(err error) bool {
	var ue *UnreachableError
	var ae *APIError
	return errors.As(err, &ue) || (errors.As(err, &ae) && (ae.Status >= 500 || ae.Status == 429))
}

// ledgerState is what tells that the ledger changed.
type ledgerState struct {
	size int64
	mod  time.Time
}

func stateOf(l *ledger.Ledger) ledgerState {
	st, err := os.Stat(l.Path())
	if err != nil {
		return ledgerState{}
	}
	return ledgerState{size: st.Size(), mod: st.ModTime()}
}

// waitForChange polls the ledger until it differs from seen, or ctx is
// done (false).
func waitForChange(ctx context.Context, l *ledger.Ledger, seen ledgerState, poll time.Duration) bool {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			if stateOf(l) != seen {
				return true
			}
		}
	}
}
