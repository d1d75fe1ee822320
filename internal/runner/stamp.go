package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/tracking"
)

// stamp records what the run is made from: the git state (writing git.patch
// and the untracked files into the run directory), the environment
// (pip-freeze.txt, host, allow-listed variables) and the owning process.
// Nothing here fails a run: what cannot be read becomes a warning.
func (p *Project) stamp(ctx context.Context, r *tracking.Run, v Venv) {
	dir := p.Ledger.RunDir(r.ID)
	git, warnings := tracking.StampGit(ctx, p.Root, dir, tracking.GitOptions{HeadRef: p.Settings.HeadRef})
	lookup := p.Settings.Lookup
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	env, envWarnings := tracking.StampEnv(ctx, dir, tracking.EnvOptions{
		Python: v.Python(), VenvDir: v.Dir, ReqHash: r.Env.RequirementsHash,
		CacheDir: filepath.Join(p.Root, ".magelab", "freeze"), Lookup: lookup,
	})
	r.Git, r.Env, r.Process = git, env, tracking.ThisProcess()
	r.Warnings = append(r.Warnings, append(warnings, envWarnings...)...)
	p.warn(r.Warnings...)
}

// brief is the part of the git stamp that goes into the ledger.
func brief(g *tracking.Git) *tracking.GitBrief {
	if g == nil || g.SHA == "" {
		return nil
	}
	return &tracking.GitBrief{SHA: g.SHA, Branch: g.Branch, Dirty: g.Dirty}
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
