package runner

import (
	"os"
	"path/filepath"
	"time"
)

// Settings are the environment variables magelab reads. They are read here
// and nowhere else.
type Settings struct {
	// Python is the interpreter the venv is built on (MAGELAB_PYTHON). When
	// set, the venv sees that interpreter's packages and installs only the
	// requirements it lacks.
	Python string
	// VenvDir replaces the project's .venv (MAGELAB_VENV): tests and CI use
	// it to share one venv between project copies.
	VenvDir string
	// OptunaVenv is where the venv of the Optuna helper of tpe, cmaes and
	// early_stop sweeps lives (MAGELAB_OPTUNA_VENV); "" means
	// .magelab/optuna-venv in the project.
	OptunaVenv string
	// Installer forces "uv" or "pip" (MAGELAB_INSTALLER); empty means uv
	// when it is on PATH, else pip.
	Installer string
	// HeadRef names the branch when HEAD is detached, as in CI checkouts
	// (GITHUB_HEAD_REF for pull requests, else GITHUB_REF_NAME).
	HeadRef string
	// CUDAVisible is CUDA_VISIBLE_DEVICES as the user gave it; the run
	// records and samples only those GPUs. CUDAVisibleSet tells "" (no GPU)
	// from unset (all GPUs).
	CUDAVisible    string
	CUDAVisibleSet bool
	// GPUInterval is the telemetry sampling interval (MAGELAB_GPU_INTERVAL,
	// a Go duration such as 500ms; default 1s).
	GPUInterval time.Duration
	// StepSummary is the file GitHub Actions shows as the job summary
	// (GITHUB_STEP_SUMMARY); a sweep appends its table to it.
	StepSummary string
	// ProgressInterval is how often a sweep prints its progress when the
	// output is not a terminal (MAGELAB_PROGRESS_INTERVAL; default 10s).
	ProgressInterval time.Duration
	// SlurmPoll is how often an attached Slurm sweep or run asks Slurm and
	// the tasks' files how they stand (MAGELAB_SLURM_POLL; default 5s).
	SlurmPoll time.Duration
	// Lookup reads the allow-listed variables a run records
	// (tracking.EnvVars); nothing else of the environment is recorded.
	Lookup func(string) (string, bool)
}

// SettingsFromEnv reads the settings from the environment.
func SettingsFromEnv() Settings {
	visible, visibleSet := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	interval, _ := time.ParseDuration(os.Getenv("MAGELAB_GPU_INTERVAL"))
	progress, _ := time.ParseDuration(os.Getenv("MAGELAB_PROGRESS_INTERVAL"))
	if progress <= 0 {
		progress = 10 * time.Second
	}
	poll, _ := time.ParseDuration(os.Getenv("MAGELAB_SLURM_POLL"))
	if poll <= 0 {
		poll = 5 * time.Second
	}
	return Settings{
		CUDAVisible:      visible,
		CUDAVisibleSet:   visibleSet,
		GPUInterval:      interval,
		Python:           os.Getenv("MAGELAB_PYTHON"),
		VenvDir:          os.Getenv("MAGELAB_VENV"),
		Installer:        os.Getenv("MAGELAB_INSTALLER"),
		OptunaVenv:       os.Getenv("MAGELAB_OPTUNA_VENV"),
		HeadRef:          firstSet(os.Getenv("GITHUB_HEAD_REF"), os.Getenv("GITHUB_REF_NAME")),
		StepSummary:      os.Getenv("GITHUB_STEP_SUMMARY"),
		ProgressInterval: progress,
		SlurmPoll:        poll,
		Lookup:           os.LookupEnv,
	}
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// venvDir is where the project venv lives.
func (s Settings) venvDir(root string) string {
	if s.VenvDir == "" {
		return filepath.Join(root, ".venv")
	}
	if filepath.IsAbs(s.VenvDir) {
		return s.VenvDir
	}
	return filepath.Join(root, s.VenvDir)
}

// OptunaVenvDir is where the Optuna helper's venv lives: MAGELAB_OPTUNA_VENV,
// else .magelab/optuna-venv under root. It is magelab's own tool rather than
// the project's, so it sits with magelab's other state (clean removes it
// and the next adaptive sweep builds it again).
func (s Settings) OptunaVenvDir(root string) string {
	switch {
	case s.OptunaVenv == "":
		return filepath.Join(root, ".magelab", "optuna-venv")
	case filepath.IsAbs(s.OptunaVenv):
		return s.OptunaVenv
	}
	return filepath.Join(root, s.OptunaVenv)
}

// expVenvDir is where the venv of an experiment whose venv.dir is dir
// lives: MAGELAB_VENV when set, else dir (relative to root), else .venv.
func (s Settings) expVenvDir(root, dir string) string {
	if s.VenvDir != "" || dir == "" {
		return s.venvDir(root)
	}
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(root, dir)
}
