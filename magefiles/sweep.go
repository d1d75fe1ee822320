//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/magelab/magelab/internal/sweep"
)

// Sweep runs the experiment's sweep: its trials in parallel slots (a GPU each, or CPU slots); -dry lists them; running it again resumes.
func Sweep(ctx context.Context, exp, set *string, parallel *int, dry, yes, retryFailed, force *bool) error {
	if deref(parallel) < 0 {
		return fmt.Errorf("-parallel=%d: want a number of slots ≥ 1 (or leave it out for the sweep's parallel:)", deref(parallel))
	}
	p, e, err := load(exp, set)
	if err != nil {
		return err
	}
	_, err = sweep.Run(ctx, p, e, sweep.Options{
		Parallel: deref(parallel), Dry: deref(dry), Yes: deref(yes), RetryFailed: deref(retryFailed), Force: deref(force),
		Live: sizedTerminal(os.Stdout),
	})
	return exit(err)
}

// sizedTerminal reports whether f is a terminal that knows its width: the
// live display needs one (a pty without a size gets plain lines).
func sizedTerminal(f *os.File) bool {
	w, _, err := term.GetSize(int(f.Fd()))
	return err == nil && w > 0
}
