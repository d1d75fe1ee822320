package reproduce

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
)

// reproducedVars are the recorded environment variables a reproduction
// sets exactly as the run had them, set or unset: those that change what a
// run computes (determinism switches and thread counts, which change the
// order of floating-point reductions). The others of tracking.EnvVars say
// where a run ran (GPU selection, CI and scheduler ids) and are this
// machine's own.
var reproducedVars = []string{
	"CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING", "PYTHONHASHSEED",
	"TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS",
	"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
	"VECLIB_MAXIMUM_THREADS",
}

// reproduceEnv is base with each of reproducedVars as recorded: set to the
// run's value, or removed when the run did not have it. notes say what
// differs from base.
func reproduceEnv(base []string, recorded map[string]string) (env, notes []string) {
	current := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(reproducedVars, k) {
			current[k] = v
			continue
		}
		env = append(env, kv)
	}
	for _, k := range reproducedVars {
		was, wasSet := recorded[k]
		now, nowSet := current[k]
		if wasSet {
			env = append(env, k+"="+was)
		}
		switch {
		case wasSet && !nowSet:
			notes = append(notes, fmt.Sprintf("%s=%s as the run had it (unset here)", k, was))
		case wasSet && now != was:
			notes = append(notes, fmt.Sprintf("%s=%s as the run had it (%s here)", k, was, now))
		case !wasSet && nowSet:
			notes = append(notes, fmt.Sprintf("%s unset as for the run (%s here)", k, now))
		}
	}
	return env, notes
}

// reproduceVenv picks the venv a reproduction runs on and the requirements
// hash it stands for. The project venv is used when it holds the run's
// requirements; otherwise it is used with a warning, since rebuilding it
// would change the user's venv. fresh builds a temporary venv in the
// checkout from the run's pip-freeze.txt instead.
func (p *reproducer) reproduceVenv(ctx context.Context, run *record.Run, exp *config.Experiment, c *checkout, fresh bool) (venv.Venv, string, error) {
	if fresh {
		return p.freshVenv(ctx, run, exp, c)
	}
	v := p.Venv(exp)
	if _, err := os.Stat(v.Python()); err != nil {
		return v, "", fmt.Errorf("reproduce run %s: there is no venv at %s to run it on: build it with `go tool mage setup`, or use -freshenv to build one from the run's pip-freeze.txt", run.ID, v.Dir)
	}
	m, ok := v.Marker()
	switch {
	case ok && m.Hash == run.Env.RequirementsHash:
		fmt.Fprintf(p.Out, "reproduce: venv %s holds the run's requirements (hash %s)\n", v.Dir, record.ShortKey(m.Hash))
		return v, m.Hash, nil
	case ok:
		p.Warn(fmt.Sprintf("venv %s holds other requirements (hash %s) than the run was made with (%s): its packages may differ; reproducing on it anyway. -freshenv builds a venv from the run's pip-freeze.txt",
			v.Dir, record.ShortKey(m.Hash), record.ShortKey(run.Env.RequirementsHash)))
		return v, m.Hash, nil
	}
	p.Warn(fmt.Sprintf("venv %s was not built by magelab, so its requirements are unknown: reproducing on it anyway. -freshenv builds a venv from the run's pip-freeze.txt", v.Dir))
	return v, "", nil
}

// freshVenv builds a venv in the checkout with exactly the packages of the
// run's pip-freeze.txt, on the base interpreter the experiment asks for.
func (p *reproducer) freshVenv(ctx context.Context, run *record.Run, exp *config.Experiment, c *checkout) (venv.Venv, string, error) {
	name := run.Env.PipFreeze
	if name == "" || !filepath.IsLocal(name) {
		return venv.Venv{}, "", fmt.Errorf("run %s recorded no package list (pip-freeze.txt): -freshenv cannot rebuild its environment; reproduce it on the project venv instead", run.ID)
	}
	freeze, err := os.ReadFile(filepath.Join(p.Ledger.RunDir(run.ID), name))
	if err != nil {
		return venv.Venv{}, "", fmt.Errorf("run %s: read its package list: %w (-freshenv needs it)", run.ID, err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "requirements-frozen.txt"), freeze, 0o644); err != nil {
		return venv.Venv{}, "", err
	}
	base := p.Venv(exp)
	v := venv.Venv{Dir: filepath.Join(c.Dir, "venv"), Root: c.Dir, Requirements: []string{"requirements-frozen.txt"},
		BasePython: base.BasePython, Installer: base.Installer}
	fmt.Fprintf(p.Out, "reproduce: building a temporary venv with the %d packages of run %s's %s\n", strings.Count(string(freeze), "\n"), record.ShortID(run.ID), name)
	hash, err := v.Ensure(ctx, p.Out)
	if err != nil {
		return v, "", fmt.Errorf("reproduce run %s: build its environment from %s: %w", run.ID, name, err)
	}
	return v, hash, nil
}

// freezeDiff lists the packages whose versions differ between two
// pip-freeze.txt files (name==version lines): "numpy 1.26.4 → 2.0.0",
// "+ rich 13.7.1" (only in b), "- tqdm 4.66.4" (only in a).
func freezeDiff(a, b string) []string {
	pa, pb := parseFreeze(a), parseFreeze(b)
	var out []string
	for _, name := range sortedKeys(pa, pb) {
		va, inA := pa[name]
		vb, inB := pb[name]
		switch {
		case inA && !inB:
			out = append(out, "- "+name+" "+va)
		case !inA && inB:
			out = append(out, "+ "+name+" "+vb)
		case va != vb:
			out = append(out, name+" "+va+" → "+vb)
		}
	}
	return out
}

func parseFreeze(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, version, ok := strings.Cut(line, "==")
		if !ok {
			name, version = line, ""
		}
		m[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(version)
	}
	return m
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}
