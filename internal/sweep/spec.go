package sweep

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// Spec is an experiment's sweep block, as the experiment's loader checked
// it (with file:line:col for each mistake).
type Spec = config.Sweep

// Param is one swept parameter.
type Param = config.SweepParam

// ParseSpec returns exp's sweep block, or an error saying it has none.
func ParseSpec(exp *config.Experiment) (*Spec, error) {
	if exp.Sweep == nil {
		return nil, fmt.Errorf("%s has no sweep: block; add one (method, parameters, metric, goal), see docs/sweeps.md", fileOf(exp))
	}
	return exp.Sweep, nil
}

// fileOf is the experiment file as messages name it: relative to the project.
func fileOf(exp *config.Experiment) string {
	if rel, err := filepath.Rel(exp.Root, exp.File); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return exp.File
}
