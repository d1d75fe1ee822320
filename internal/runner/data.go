package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
)

// dataRun is where the data stages run: inside a train or eval run (ID and
// Dir set: their logs are copied into the run) or outside any; the
// environment they start from; where their status lines go.
type dataRun struct {
	ID, Dir string
	BaseEnv []string
	Out     io.Writer
}

// DataResult is the outcome of the data stages: the directory the next stage
// reads, and a record per stage.
type DataResult struct {
	Dir    string
	Keys   []string
	Stages []record.StageRecord
}

// Data brings exp's data stages up to date, up to and including upTo
// ("" for all of them), and reports where their output is.
func (p *Project) Data(ctx context.Context, exp *config.Experiment, upTo string) (DataResult, error) {
	p.tidy()
	v := p.Venv(exp)
	hash, err := v.Hash()
	if err != nil {
		return DataResult{}, err
	}
	keys, err := p.StageKeys(exp, hash)
	if err != nil {
		return DataResult{}, err
	}
	if upTo != "" {
		if _, ok := exp.Stage(upTo); !ok {
			return DataResult{}, fmt.Errorf("experiment %s has no %s stage (stages: %s)", exp.Name, upTo, stageNames(exp))
		}
	}
	python := ""
	ensure := func() (string, error) {
		if python == "" {
			if _, err := v.Ensure(ctx, p.Out); err != nil {
				return "", err
			}
			python = v.Python()
		}
		return python, nil
	}
	return p.data(ctx, exp, keys, upTo, ensure, dataRun{BaseEnv: stageBaseEnv(p.Environ(), p.Settings, nil), Out: p.Out})
}

// data runs the data stages through the stage cache. ensure builds the venv
// only when a stage actually has to run.
func (p *Project) data(ctx context.Context, exp *config.Experiment, keys map[string]string, upTo string, ensure func() (string, error), run dataRun) (DataResult, error) {
	var res DataResult
	for _, s := range exp.Stages {
		if s.Name == "train" || s.Name == "eval" {
			break
		}
		key := keys[s.Name]
		rec, entry, err := p.dataStage(ctx, exp, s, key, res.Dir, ensure, run)
		res.Stages = append(res.Stages, rec)
		if err != nil {
			return res, err
		}
		res.Dir, res.Keys = entry.Out, append(res.Keys, key)
		if s.Name == upTo {
			break
		}
	}
	return res, nil
}

func (p *Project) dataStage(ctx context.Context, exp *config.Experiment, s config.Stage, key, in string, ensure func() (string, error), run dataRun) (record.StageRecord, Entry, error) {
	if e, ok := p.Cache.Lookup(s.Name, key); ok {
		fmt.Fprintf(run.Out, "%s: up to date (key %s)\n", s.Name, record.ShortKey(key))
		rec := record.StageRecord{Name: s.Name, Key: key, Cached: true, Output: e.Out, Log: e.Log}
		return rec, e, p.copyLog(run, s.Name, e)
	}
	var rec record.StageRecord
	e, err := p.Cache.Compute(ctx, s.Name, key, run.Out, func(out, log string) error {
		python, err := ensure()
		if err != nil {
			return err
		}
		fmt.Fprintf(run.Out, "%s: running %s\n", s.Name, describe(s))
		spec := stageSpec{Stage: s, Root: p.Root, Python: python, Params: exp.Params, ParamsFile: filepath.Join(filepath.Dir(out), "params.json"),
			In: in, Out: out, RunID: run.ID, RunDir: run.Dir, BaseEnv: run.BaseEnv}
		rec, err = runStage(ctx, spec, log, run.Out)
		if err != nil && run.Dir != "" {
			// The failed stage's log goes with the run; the stage error
			// points there, unless the copy failed.
			runLog := filepath.Join(run.Dir, "logs", s.Name+".log")
			var se *StageError
			if cerr := copyFile(log, runLog); cerr != nil {
				warnTo(run.Out, fmt.Sprintf("%s: log not copied into the run: %v", s.Name, cerr))
			} else if errors.As(err, &se) {
				se.Log = runLog
			}
		}
		return err
	})
	rec.Name, rec.Key = s.Name, key
	if err != nil {
		return rec, e, err
	}
	rec.Output, rec.Log, rec.Cached = e.Out, e.Log, e.Cached
	return rec, e, p.copyLog(run, s.Name, e)
}

// copyLog puts the log of a data stage into the run's logs/ directory.
func (p *Project) copyLog(run dataRun, stage string, e Entry) error {
	if run.Dir == "" {
		return nil
	}
	dst := filepath.Join(run.Dir, "logs", stage+".log")
	if e.Cached {
		header := fmt.Sprintf("magelab: %s was up to date; its output %s was reused. Its log when computed:\n", stage, e.Out)
		b, _ := os.ReadFile(e.Log)
		return writeFile(dst, append([]byte(header), b...))
	}
	return copyFile(e.Log, dst)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, b)
}

func writeFile(dst string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func describe(s config.Stage) string {
	if s.IsCmd() {
		return s.Cmd
	}
	return s.Script
}

func stageNames(exp *config.Experiment) string {
	var names []string
	for _, s := range exp.Stages {
		names = append(names, s.Name)
	}
	return fmt.Sprint(names)
}
