package runner

import (
	"os"
	"path/filepath"
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
	// Installer forces "uv" or "pip" (MAGELAB_INSTALLER); empty means uv
	// when it is on PATH, else pip.
	Installer string
}

// SettingsFromEnv reads the settings from the environment.
func SettingsFromEnv() Settings {
	return Settings{
		Python:    os.Getenv("MAGELAB_PYTHON"),
		VenvDir:   os.Getenv("MAGELAB_VENV"),
		Installer: os.Getenv("MAGELAB_INSTALLER"),
	}
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
