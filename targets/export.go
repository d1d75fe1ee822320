package targets

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/export/mlflow"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
)

// Export publishes runs and sweeps to an MLflow tracking server, sending only what it lacks: -to=mlflow, -uri=URL (default $MLFLOW_TRACKING_URI), -exp, -where, -sweep as for runs, -artifacts=none|meta|all, -artifactMiB=100, -prefix=team/ (before experiment names), -watch (keep exporting runs as they finish).
func (Runs) Export(ctx context.Context, to, uri, exp, where, sweep, artifacts *string, artifactMiB *int, prefix *string, watch *bool) error {
	if t := strings.ToLower(deref(to)); t != "" && t != "mlflow" {
		return fmt.Errorf("-to=%s: runs:export knows -to=mlflow (an MLflow tracking server)", deref(to))
	}
	o, err := exportOptions(uri, exp, where, sweep, artifacts, artifactMiB, prefix)
	if err != nil {
		return err
	}
	l, err := openLedger()
	if err != nil {
		return err
	}
	if !deref(watch) {
		res, err := mlflow.Export(ctx, l, o)
		if res != nil {
			fmt.Println(res)
		}
		return err
	}
	fmt.Printf("mlflow: watching %s: runs are exported as they end (Ctrl-C stops)\n", l.Path())
	first := true
	err = mlflow.Watch(ctx, l, o, time.Second, func(res *mlflow.Result, err error) {
		if res != nil && (first || res.Created+res.Updated+res.Failed > 0) {
			fmt.Println(res)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v (trying again)\n", err)
		}
		first = false
	})
	if err == nil {
		fmt.Println("mlflow: stopped watching")
	}
	return err
}

// exportOptions turns runs:export's flags into the export's options.
func exportOptions(uri, exp, where, sweep, artifacts *string, artifactMiB *int, prefix *string) (mlflow.Options, error) {
	s := mlflow.SettingsFromEnv(os.LookupEnv)
	if u := deref(uri); u != "" {
		s.URI = u
	}
	level, err := mlflow.ParseLevel(deref(artifacts))
	if err != nil {
		return mlflow.Options{}, err
	}
	conds, err := query.ParseWhere(deref(where))
	if err != nil {
		return mlflow.Options{}, fmt.Errorf("-where: %w", err)
	}
	name, err := experimentName(deref(exp))
	if err != nil {
		return mlflow.Options{}, err
	}
	o := mlflow.Options{Settings: s, Experiment: name, SweepID: deref(sweep), Where: conds, Artifacts: level, Prefix: deref(prefix), Out: os.Stdout}
	if artifactMiB != nil {
		if *artifactMiB <= 0 {
			return o, fmt.Errorf("-artifactMiB=%d: want the largest artifact to send, in MiB (default %d)", *artifactMiB, mlflow.DefaultMaxBytes>>20)
		}
		o.MaxBytes = int64(*artifactMiB) << 20
	}
	return o, nil
}

// autoExport is the experiment's export: {mlflow: auto}: when it is on and
// MLFLOW_TRACKING_URI is set, the runs that just ended go to MLflow. A
// failed export is a warning, never a failed run: runs:export completes it
// later.
func autoExport(l *ledger.Ledger, e *config.Experiment) (mlflow.Auto, bool) {
	a := mlflow.Auto{Settings: mlflow.SettingsFromEnv(os.LookupEnv), Ledger: l, Out: os.Stdout}
	on, note := a.On(e)
	if note != "" {
		fmt.Println("note: " + note)
	}
	return a, on
}

// exportWarn prints the outcome of an automatic export.
func exportWarn(res *mlflow.Result, err error) {
	if res != nil {
		fmt.Println(res)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warning: export to MLflow failed: %v; `go tool mage runs:export -to=mlflow` sends what is missing\n", err)
	}
}
