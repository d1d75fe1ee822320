package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/query"
	"github.com/magelab/magelab/internal/report"
	"github.com/magelab/magelab/internal/runner"
	"github.com/magelab/magelab/internal/ui"
)

// Runs holds the targets that read the run ledger: runs:show, runs:compare.
type Runs mg.Namespace

// The listing is `runs`, not `runs:list`: Mage lowercases target names, and
// Go cannot name a function Runs beside the namespace type, so it is RUNS.

// RUNS lists runs, newest first: -exp=NAME, -where="val_accuracy>0.9 train.lr=0.01 status=finished", -sort=-val_accuracy, -limit=20 (0: all), -format=table|md|csv|json|html, -sweep=ID, -cols=id,status,train.lr.
func RUNS(exp, where, sort *string, limit *int, format, sweep, cols *string) error {
	f, err := report.ParseFormat(deref(format))
	if err != nil {
		return fmt.Errorf("-format: %w", err)
	}
	conds, err := query.ParseWhere(deref(where))
	if err != nil {
		return fmt.Errorf("-where: %w", err)
	}
	name, err := experimentName(deref(exp))
	if err != nil {
		return err
	}
	q := query.Query{Experiment: name, SweepID: deref(sweep), Where: conds, Sort: deref(sort), Limit: 20}
	if f == report.FormatHTML {
		q.Limit = 0 // a report is for every run, unless -limit says otherwise
	}
	if limit != nil {
		q.Limit = *limit
	}
	l, err := openLedger()
	if err != nil {
		return err
	}
	runs, warnings, err := query.List(l, q)
	warn(warnings)
	if err != nil {
		return err
	}
	if len(runs) == 0 && (f == report.FormatTable || f == report.FormatMarkdown) {
		if len(conds) > 0 || name != "" || q.SweepID != "" {
			fmt.Println("no runs match")
		} else {
			fmt.Println("no runs yet: `go tool mage train` records one")
		}
		return nil
	}
	if f == report.FormatHTML {
		return ui.WriteReport(os.Stdout, l, runs, q.SweepID)
	}
	opt := report.FormatOptions{Cols: strings.FieldsFunc(deref(cols), func(r rune) bool { return r == ',' || r == ' ' })}
	if f == report.FormatMarkdown {
		opt.Chart = chartMetric(l, q)
	}
	if f == report.FormatTable {
		opt.Width = terminalWidth(os.Stdout)
	}
	return report.WriteRuns(os.Stdout, runs, f, opt)
}

// terminalWidth is f's width when it is a terminal, else 0: a pipe or a
// file gets every column.
func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}

// chartMetric is the metric a markdown listing charts: the sweep's own
// metric for -sweep, else the metric it is sorted by.
func chartMetric(l *ledger.Ledger, q query.Query) string {
	if q.SweepID != "" {
		if ev, ok, _ := query.SweepStarted(l, q.SweepID); ok && ev.SweepMetric() != "" {
			return ev.SweepMetric()
		}
	}
	return strings.TrimPrefix(q.Sort, "-")
}

// Show prints a run's record (ID: a unique prefix or suffix of its id): status and timings, params, metrics, stages, git, env, GPU; -format=json prints run.json as stored.
func (Runs) Show(id string, format *string) error {
	l, err := openLedger()
	if err != nil {
		return err
	}
	runs, raw, warnings, err := query.Records(l, id)
	warn(warnings)
	if err != nil {
		return err
	}
	switch f := strings.ToLower(deref(format)); f {
	case "json":
		if raw[0] == nil { // no run.json: what the ledger knows, in its shape
			raw[0], err = json.MarshalIndent(runs[0], "", "  ")
			raw[0] = append(raw[0], '\n')
		}
		if err == nil {
			_, err = os.Stdout.Write(raw[0])
		}
		return err
	case "", "table", "text":
		return report.WriteRun(os.Stdout, runs[0], report.FormatOptions{})
	default:
		return fmt.Errorf("-format: unknown format %q (want text or json)", f)
	}
}

// Compare prints runs side by side ("ID ID ..."): params and metrics with the rows that differ marked *, git SHAs, and the git, env and GPU fields that differ.
func (Runs) Compare(ids string) error {
	fields := strings.Fields(ids)
	if len(fields) < 2 {
		return fmt.Errorf("runs:compare wants two run ids or more, like \"8f3a1c2d 77e0b9a1\"; got %q", ids)
	}
	l, err := openLedger()
	if err != nil {
		return err
	}
	runs, _, warnings, err := query.Records(l, fields...)
	warn(warnings)
	if err != nil {
		return err
	}
	return report.WriteCompare(os.Stdout, runs, report.FormatOptions{})
}

// openLedger is the project's run ledger.
func openLedger() (*ledger.Ledger, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return runner.NewProject(root, runner.SettingsFromEnv(), os.Stdout).Ledger, nil
}

// experimentName is the name the ledger records for -exp: the name inside
// experiments/NAME.yaml (or the file a path points to), else NAME as given,
// for runs whose experiment file is not here (imported from elsewhere).
func experimentName(exp string) (string, error) {
	if exp == "" {
		return "", nil
	}
	root, err := os.Getwd()
	if err != nil {
		return "", err
	}
	e, err := config.Load(root, exp)
	switch {
	case err == nil:
		return e.Name, nil
	case errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(exp, '/') && filepath.Ext(exp) == "":
		return exp, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	warn([]string{fmt.Sprintf("-exp: %v; listing the runs recorded as %q", err, exp)})
	return exp, nil
}

// warn prints warnings to stderr: the listing on stdout stays clean for
// pipes.
func warn(warnings []string) {
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "warning:", report.PrintableText(w))
	}
}

// Import merges another runs/ tree into this one (a directory, or a .tar, .tar.gz or .zip CI artifact): new runs are added, known ones skipped, conflicts reported.
func (Runs) Import(ctx context.Context, src string) error {
	l, err := openLedger()
	if err != nil {
		return err
	}
	rep, err := l.Import(ctx, src, ledger.ImportOptions{})
	if err != nil {
		if len(rep.Added) > 0 {
			fmt.Print(report.FormatImport(rep))
		}
		return exit(err)
	}
	fmt.Print(report.FormatImport(rep))
	if len(rep.Conflicts) > 0 || len(rep.Rejected) > 0 {
		return fmt.Errorf("runs:import: %d conflict(s), %d rejected: see above", len(rep.Conflicts), len(rep.Rejected))
	}
	return nil
}
