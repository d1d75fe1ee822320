package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
	"github.com/magelab/magelab/internal/venv"
)

// stamp records what the run is made from: the git state (writing git.patch
// and the untracked files into the run directory), the environment
// (pip-freeze.txt, host, allow-listed variables) and the owning process.
// Nothing here fails a run: what cannot be read becomes a warning.
func (r *Run) stamp(ctx context.Context, v venv.Venv, withhold []string) {
	p, rec, dir := r.p, r.Record, r.Dir()
	// magelab's own outputs are never the run's code, even where the
	// project's .gitignore forgets them.
	own := []string{p.Ledger.Dir, filepath.Join(p.Root, ".magelab"), v.Dir, v.LockPath()}
	git, warnings := stamp.Git(ctx, p.Root, dir, stamp.GitOptions{HeadRef: r.settings.HeadRef, Exclude: own, Withhold: withhold})
	lookup := r.settings.Lookup
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	env, envWarnings := stamp.Env(ctx, dir, stamp.EnvOptions{
		Python: v.Python(), VenvDir: v.Dir, ReqHash: rec.Env.RequirementsHash,
		CacheDir: filepath.Join(p.Root, ".magelab", "freeze"), Lookup: lookup,
	})
	rec.Git, rec.Env, rec.Process = git, env, stamp.ThisProcess()
	rec.Warnings = append(rec.Warnings, append(warnings, envWarnings...)...)
	r.Warn(rec.Warnings...)
}

// lookupWith looks name up in extra, then with base (nil: nowhere).
func lookupWith(extra []string, base func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := proc.LookupEnv(extra, name); ok && extra != nil {
			return v, true
		}
		if base == nil {
			return "", false
		}
		return base(name)
	}
}

// stageVars are the variables a run's stages get on top of the project's
// environment (see stageBaseEnv): its own GPUs and opts.Env.
func stageVars(opts RunOptions) []string {
	var vars []string
	if opts.Devices != nil {
		vars = append(vars, "CUDA_VISIBLE_DEVICES="+*opts.Devices)
	}
	return append(vars, opts.Env...)
}

// brief is the part of the git stamp that goes into the ledger.
func brief(g *record.Git) *record.GitBrief {
	if g == nil || g.SHA == "" {
		return nil
	}
	return &record.GitBrief{SHA: g.SHA, Branch: g.Branch, Dirty: g.Dirty}
}

// readFramework reads the framework.json a stage wrote, if any.
func readFramework(out string) map[string]any {
	b, err := os.ReadFile(filepath.Join(out, "framework.json"))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}
