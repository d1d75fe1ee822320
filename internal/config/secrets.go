package config

import (
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// Secrets holds the experiment's secrets: block: more untracked files that
// a run must never save, on top of magelab's own list (stamp.Withhold).
type Secrets struct {
	// Withhold are glob patterns, relative to the repository's top: one
	// without a slash matches a file or directory name anywhere, one ending
	// in / a directory anywhere, one with a slash inside the whole path
	// (** for any directories).
	Withhold []string
}

// secrets decodes `secrets: {withhold: [patterns]}`.
func (d *decoder) secrets(n *yaml.Node, s *Secrets) {
	for _, p := range d.block(n, "secrets", []string{"withhold"}) {
		pats, nodes := d.paths(p.val, "secrets.withhold")
		for i, pat := range pats {
			if why := withholdProblem(pat); why != "" {
				d.errorf(nodes[i], "secrets.withhold: %q is %s", pat, why)
				continue
			}
			s.Withhold = append(s.Withhold, pat)
		}
	}
}

// withholdProblem says why a withhold pattern cannot be used, or "".
func withholdProblem(p string) string {
	switch {
	case strings.HasPrefix(p, "/"):
		return "an absolute path: patterns are relative to the repository's top (.env, config/*.key, **/token.json)"
	case !doublestar.ValidatePattern(strings.TrimSuffix(p, "/")):
		return "not a valid glob pattern"
	}
	return ""
}
