package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Serve is an experiment's serve: block: what `serve` runs to serve one of
// its runs' models over HTTP.
type Serve struct {
	// Service is the BentoML service file, relative to the project root;
	// the server runs in its directory.
	Service string
	// Class is the service class in that file.
	Class string
	// Model is the file under a run's out/ that the service loads; a run
	// without it cannot be served.
	Model string
	// Usage, when set, is printed when the server starts: what to send it.
	Usage string
}

// Module is the Python module of the service file: its name without .py.
func (s Serve) Module() string { return strings.TrimSuffix(filepath.Base(s.Service), ".py") }

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (d *decoder) serve(n *yaml.Node, e *Experiment) {
	if isNull(n) {
		return
	}
	s := &Serve{}
	fails := len(d.errs.list) + d.errs.extra
	pairs := d.block(n, "serve", []string{"service", "class", "model", "usage"})
	nodes := map[string]*yaml.Node{}
	for _, p := range pairs {
		nodes[p.key.Value] = p.val
		field := "serve." + p.key.Value
		switch p.key.Value {
		case "service":
			d.str(p.val, field, &s.Service)
		case "class":
			d.str(p.val, field, &s.Class)
		case "model":
			d.str(p.val, field, &s.Model)
		case "usage":
			d.str(p.val, field, &s.Usage)
		}
	}
	if len(pairs) == 0 && deref(n).Kind != yaml.MappingNode {
		return // d.block reported it
	}
	for _, k := range []string{"service", "class", "model"} {
		if _, ok := nodes[k]; !ok {
			d.errorf(n, "serve: missing %s (a serve block names the service file, its class and the model file a run writes under out/)", k)
		}
	}
	switch info, err := os.Stat(rootJoin(e.Root, s.Service)); {
	case s.Service == "":
	case err != nil:
		d.errorf(nodes["service"], "serve.service: %s not found (paths are relative to the project root %s)", s.Service, e.Root)
	case info.IsDir() || !strings.HasSuffix(s.Service, ".py"):
		d.errorf(nodes["service"], "serve.service: %s is not a Python file: name the file that defines the BentoML service", s.Service)
	}
	if s.Class != "" && !identifier.MatchString(s.Class) {
		d.errorf(nodes["class"], "serve.class: %q is not a Python class name", s.Class)
	}
	if s.Model != "" && !filepath.IsLocal(s.Model) {
		d.errorf(nodes["model"], "serve.model: %q must be a path inside the run's out/ directory, like model.joblib", s.Model)
	}
	if len(d.errs.list)+d.errs.extra == fails {
		e.Serve = s
	}
}
