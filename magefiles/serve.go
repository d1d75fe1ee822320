//go:build mage

package main

import (
	"context"
	"os"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/runner"
)

// Serve serves a run's model over HTTP with BentoML until Ctrl-C: -run=ID (default: the best, else newest, finished run of -exp, default digits-sklearn), -port=3000, -host=127.0.0.1.
func Serve(ctx context.Context, exp, run *string, port *int, host *string) error {
	name := deref(exp)
	if name == "" && deref(run) == "" {
		name = "digits-sklearn"
	}
	var e *config.Experiment // nil: the experiment -run was trained with
	var p *runner.Project
	if name != "" {
		var err error
		if p, e, err = load(&name, nil); err != nil {
			return err
		}
	} else {
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		p = runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout)
	}
	return exit(p.Serve(ctx, e, runner.ServeOptions{RunID: deref(run), Port: deref(port), Host: deref(host)}))
}
