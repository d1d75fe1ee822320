package targets

import (
	"context"
	"os"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/serve"
)

// Serve serves a run's model over HTTP with BentoML until Ctrl-C, as the experiment's serve: block says: -run=ID (default: the best, else newest, finished run of -exp, default the one experiment with a serve: block), -port=3000, -host=127.0.0.1.
func Serve(ctx context.Context, exp, run *string, port *int, host *string) error {
	name := deref(exp)
	if name == "" && deref(run) == "" {
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		if name, err = serve.DefaultExperiment(root); err != nil {
			return err
		}
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
	return exit(serve.Run(ctx, p, e, serve.Options{RunID: deref(run), Port: deref(port), Host: deref(host)}))
}
