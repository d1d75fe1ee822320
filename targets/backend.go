package targets

import (
	"fmt"
	"slices"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// slurmBackend reports whether the command runs on Slurm: -backend says,
// else the experiment's backend:.
func slurmBackend(flag *string, e *config.Experiment) (bool, error) {
	b := deref(flag)
	if b == "" {
		b = e.Backend
	}
	if b != "" && !slices.Contains(config.Backends, b) {
		return false, fmt.Errorf("-backend=%s: want one of %s", b, strings.Join(config.Backends, ", "))
	}
	return b == "slurm", nil
}

// again is the command that runs target on the same experiment again: what
// a detached Slurm job's messages tell the user to type.
func again(target string, e *config.Experiment, exp, set, backend *string) string {
	cmd := "go tool mage " + target
	if x := deref(exp); x != "" {
		cmd += " -exp=" + shellWord(x)
	}
	if s := deref(set); s != "" {
		cmd += " -set=" + shellWord(s)
	}
	if deref(backend) == "slurm" && e.Backend != "slurm" {
		cmd += " -backend=slurm"
	}
	return cmd
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
