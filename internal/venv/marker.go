package venv

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// MarkerName is the file in the venv that says which requirements it holds.
// It is written only after a successful install.
const MarkerName = ".magelab-requirements.json"

// Marker is what a ready venv holds: the requirements hash it was built
// for, on which interpreter, and when.
type Marker struct {
	Hash       string `json:"hash"`
	BasePython string `json:"base_python"`
	SystemSite bool   `json:"system_site"`
	Installed  string `json:"installed"`
}

// Marker reads the venv's marker; ok is false when it has none (a venv
// magelab did not finish installing, or did not build).
func (v Venv) Marker() (m Marker, ok bool) {
	b, err := os.ReadFile(filepath.Join(v.Dir, MarkerName))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}
