package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/report"
	"github.com/magelab/magelab/internal/venv"
)

// Project is one magelab project tree: where its venv, stage cache and run
// ledger live, and where status lines and stage output are written.
type Project struct {
	Root     string
	Settings Settings
	Out      io.Writer
	Ledger   *ledger.Ledger
	Cache    StageCache
	records  recordStore // the ledger; tests put a full disk in its place
	hashes   *HashCache
	tidyOnce *sync.Once // the first run started removes what killed runs left
	baseEnv  []string   // the environment stages start from; nil: this process's (see Environ)
}

// recordStore is where a run's record and ledger events are written.
type recordStore interface {
	WriteRecord(*record.Run) error
	Append(record.Event) error
}

// Options place a project's state elsewhere than in its tree: a
// reproduction runs from a temporary checkout but records into the
// project's ledger, with a stage cache of its own, on the environment the
// run had.
type Options struct {
	Ledger   *ledger.Ledger // nil: runs/ under the root
	StateDir string         // the stage cache and hash cache; "": .magelab/ under the root
	Env      []string       // the environment stages start from; nil: this process's
}

// NewProject returns the project rooted at root.
func NewProject(root string, s Settings, out io.Writer) *Project {
	return NewProjectWith(root, s, out, Options{})
}

// NewProjectWith returns the project rooted at root with its state placed
// as o says.
func NewProjectWith(root string, s Settings, out io.Writer, o Options) *Project {
	if o.Ledger == nil {
		o.Ledger = ledger.Open(filepath.Join(root, "runs"))
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(root, ".magelab")
	}
	return &Project{
		Root:     root,
		Settings: s,
		Out:      out,
		Ledger:   o.Ledger,
		records:  o.Ledger,
		Cache:    StageCache{Dir: filepath.Join(o.StateDir, "cache")},
		hashes:   LoadHashCache(filepath.Join(o.StateDir, "hashes.json")),
		tidyOnce: &sync.Once{},
		baseEnv:  o.Env,
	}
}

// Environ is the environment the stages start from: this process's, or
// the one Options.Env set.
func (p *Project) Environ() []string {
	if p.baseEnv != nil {
		return p.baseEnv
	}
	return os.Environ()
}

// Venv is the venv for exp: the project's .venv, or the experiment's own
// venv.dir; MAGELAB_VENV wins over both. MAGELAB_PYTHON wins over the
// experiment's venv.python, and either one means the venv is built on that
// interpreter's packages.
func (p *Project) Venv(exp *config.Experiment) venv.Venv {
	v := venv.Venv{
		Dir:          p.Settings.expVenvDir(p.Root, exp.Venv.Dir),
		Root:         p.Root,
		Requirements: exp.Requirements,
		BasePython:   exp.Venv.Python,
		SystemSite:   exp.Venv.SystemSitePackages,
		Installer:    exp.Venv.Installer,
	}
	if p.Settings.Python != "" {
		v.BasePython, v.SystemSite = p.Settings.Python, true
	}
	if p.Settings.Installer != "" {
		v.Installer = p.Settings.Installer
	}
	return v
}

// StageKeys computes the cache key of every configured stage except eval,
// in pipeline order.
func (p *Project) StageKeys(exp *config.Experiment, reqHash string) (map[string]string, error) {
	return p.stageKeys(exp, reqHash, p.Out)
}

// stageKeys is StageKeys with its warning (a hash cache that cannot be
// saved) written to out.
func (p *Project) stageKeys(exp *config.Experiment, reqHash string, out io.Writer) (map[string]string, error) {
	keys := map[string]string{}
	var upstream []string
	for _, s := range exp.Stages {
		if s.Name == "eval" {
			break
		}
		k, err := exp.StageKey(s.Name, upstream, reqHash, p.hashes)
		if err != nil {
			return nil, err
		}
		keys[s.Name] = k
		upstream = append(upstream, k)
	}
	if err := p.hashes.Save(); err != nil {
		warnTo(out, err.Error())
	}
	return keys, nil
}

// Warn writes warnings to the project's output.
func (p *Project) Warn(msgs ...string) { warnTo(p.Out, msgs...) }

// warnTo writes each message as a warning line to out.
func warnTo(out io.Writer, msgs ...string) {
	for _, m := range msgs {
		fmt.Fprintf(out, "warning: %s\n", report.PrintableText(m))
	}
}

// buildOutputs are what magelab's own build steps write under bin/: the
// binary of `go tool mage -compile "$PWD/bin/magelab"` and a sweep's plan.
// Only those are removed, and bin/ itself when that leaves it empty: in an
// adopting repository bin/ may hold the repository's own files.
var buildOutputs = []string{"bin/magelab", "bin/plan.json"}

// Clean removes the stage cache and build outputs, and the run directories
// that killed runs left unrecorded (see Tidy); with all, also the run
// ledger and the venv.
func (p *Project) Clean(all bool) error {
	for _, line := range append(p.tidyPending(), p.tidyOrphans()...) {
		fmt.Fprintln(p.Out, line)
	}
	targets := []string{filepath.Join(p.Root, ".magelab")}
	for _, b := range buildOutputs {
		targets = append(targets, filepath.Join(p.Root, b))
	}
	filepath.WalkDir(filepath.Join(p.Root, "python"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && (d.Name() == "__pycache__" || d.Name() == ".pytest_cache") {
			targets = append(targets, path)
			return filepath.SkipDir
		}
		return nil
	})
	if all {
		targets = append(targets, p.Ledger.Dir)
		// A venv shared through MAGELAB_VENV is not this project's to remove.
		if v := p.Settings.venvDir(p.Root); filepath.Dir(v) == p.Root {
			targets = append(targets, v)
		}
		targets = append(targets, p.experimentVenvs()...)
	}
	for _, t := range targets {
		if _, err := os.Lstat(t); err != nil {
			continue
		}
		if err := os.RemoveAll(t); err != nil {
			return fmt.Errorf("clean %s: %w", t, err)
		}
		rel, _ := filepath.Rel(p.Root, t)
		fmt.Fprintf(p.Out, "removed %s\n", rel)
	}
	if os.Remove(filepath.Join(p.Root, "bin")) == nil { // only when empty
		fmt.Fprintln(p.Out, "removed bin")
	}
	return nil
}

// experimentVenvs lists the venvs that experiments/*.yaml name in venv.dir
// and that exist inside the project: clean -all removes them with .venv.
// A directory without pyvenv.cfg is not a venv, and is left alone.
func (p *Project) experimentVenvs() []string {
	files, _ := filepath.Glob(filepath.Join(p.Root, "experiments", "*.y*ml"))
	var dirs []string
	for _, f := range files {
		exp, err := config.Load(p.Root, f)
		if err != nil || exp.Venv.Dir == "" {
			continue
		}
		dir := Settings{}.expVenvDir(p.Root, exp.Venv.Dir) // as named, whatever MAGELAB_VENV says
		rel, err := filepath.Rel(p.Root, dir)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") || slices.Contains(dirs, dir) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "pyvenv.cfg")); err == nil {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}
