package config

import (
	"fmt"
	"regexp"
	"slices"
)

// StageOrder is the pipeline order of the known stages.
var StageOrder = []string{"setup-data", "preprocess", "train", "eval"}

// paramSections are the free-form hyperparameter sections of an experiment.
var paramSections = []string{"data", "preprocess", "train", "eval"}

// Experiment is a loaded, validated experiment file.
type Experiment struct {
	Name, Description string
	File              string   // absolute path of the YAML file
	Root              string   // project root (absolute); relative paths in the file are relative to it
	Hash              string   // sha256 hex of the file's bytes
	Requirements      []string // paths relative to Root, as written
	Stages            []Stage  // configured stages in StageOrder order
	Seed              int
	Params            Params // "seed" plus the param sections present (data, preprocess, train, eval); overrides applied via Set
	Venv              Venv
	Reproduce         Reproduce
	Sweep             *Sweep  // the sweep: block; nil if absent
	Serve             *Serve  // the serve: block; nil if absent
	Export            *Export // the export: block; nil if absent (nothing exported unless asked)
	// Backend is where sweep and train run: "" or "local" on this machine,
	// "slurm" on a Slurm cluster (the slurm: block says how).
	Backend string
	Slurm   *Slurm  // the slurm: block; nil if absent
	Secrets Secrets // the secrets: block
}

// Venv holds the experiment's interpreter settings (the `venv:` block).
type Venv struct {
	SystemSitePackages bool   `yaml:"system_site_packages"`
	Python             string `yaml:"python"`
	Installer          string `yaml:"installer"` // "", "auto", "uv", "pip"; "" means auto
	// Dir is the experiment's own venv directory, relative to the project
	// root (or absolute); "" means the project's .venv. Experiments whose
	// requirements differ name different directories, so that running one
	// does not reinstall the other's packages.
	Dir string `yaml:"dir"`
}

// Reproduce holds the settings of `reproduce` (the `reproduce:` block).
type Reproduce struct {
	// Tolerance is the largest relative metric difference a reproduction may
	// show and still match (|reproduced - original| <= Tolerance*|original|);
	// 0 (the default) asks for identical metrics.
	Tolerance float64 `yaml:"tolerance"`
}

// Stage is one configured pipeline stage: a Python script run with the stage
// contract's flags, or a command template (IsCmd).
type Stage struct {
	Name    string   // one of StageOrder
	Script  string   // script path relative to Root, slash-separated and cleaned (script stages)
	Cmd     string   // command template (command stages)
	Metrics string   // metrics file template (command stages, optional)
	Deps    []string // extra files or directories (relative to Root, or absolute) whose content feeds the stage key (command stages); they need not exist at load
	Pos     Pos      // where the stage is defined in the file; Line 0 for discovered stages
	CmdPos  Pos      // where its cmd template is written (command stages)

	// Patterns are the declared output patterns (command stages): named
	// groups are metrics, the group step the step (internal/metrics).
	Patterns []*regexp.Regexp
}

// Command expands the stage's command template with p and vars (see
// Expand). An error names the template's place in the experiment file and
// the column of the placeholder at fault.
func (s Stage) Command(p Params, vars map[string]string) (string, error) {
	line, err := Expand(s.Cmd, p, vars)
	if err != nil {
		return "", fmt.Errorf("%s: stages.%s.cmd: %w", s.CmdPos, s.Name, err)
	}
	return line, nil
}

// IsCmd reports whether the stage is a command template rather than a script.
func (s Stage) IsCmd() bool { return s.Cmd != "" }

// SectionsFor returns the param sections that feed stage: "data" and
// "preprocess" for setup-data and preprocess, "train" for train, "eval" for
// eval; nil for an unknown stage. Sections an experiment leaves out are still
// listed: Params.Select keeps only the present ones.
func SectionsFor(stage string) []string {
	switch stage {
	case "setup-data", "preprocess":
		return []string{"data", "preprocess"}
	case "train":
		return []string{"train"}
	case "eval":
		return []string{"eval"}
	}
	return nil
}

// Stage returns the configured stage by name.
func (e *Experiment) Stage(name string) (Stage, bool) {
	for _, s := range e.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Upstream returns the configured stages before name in StageOrder, in order
// (for eval: setup-data, preprocess, train when all are configured).
func (e *Experiment) Upstream(name string) []Stage {
	idx := slices.Index(StageOrder, name)
	if idx < 0 {
		return nil
	}
	var out []Stage
	for _, s := range e.Stages {
		if slices.Index(StageOrder, s.Name) < idx {
			out = append(out, s)
		}
	}
	return out
}
