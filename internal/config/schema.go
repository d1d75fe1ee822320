package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// topKeys are the keys an experiment file may have at its top level.
var topKeys = []string{"name", "description", "requirements", "stages", "seed",
	"data", "preprocess", "train", "eval", "sweep", "venv", "reproduce", "serve", "export", "backend", "slurm", "secrets"}

// codeDirs are the project's own directories, never a venv.dir: removing a
// stale venv there would remove code or records.
var codeDirs = []string{"python", "experiments", "runs", "internal", "magefiles", ".git", ".magelab"}

// installers are the accepted values of venv.installer.
var installers = []string{"auto", "uv", "pip"}

// maxSeed is the largest seed numpy accepts (2^32-1); lab.py seeds numpy.
const maxSeed = 1<<32 - 1

// experiment decodes the top-level mapping onto e, which holds the defaults.
func (d *decoder) experiment(top *yaml.Node, e *Experiment) {
	fields := map[string]*yaml.Node{}
	for _, p := range d.pairs(top, 0) {
		if !slices.Contains(topKeys, p.key.Value) {
			d.errorf(p.key, "unknown key %q%s", p.key.Value, didYouMean(p.key.Value, topKeys))
			continue
		}
		fields[p.key.Value] = p.val
	}
	if n, ok := fields["name"]; ok {
		d.str(n, "name", &e.Name)
		if strings.ContainsAny(e.Name, "/\\") || strings.IndexFunc(e.Name, unicode.IsControl) >= 0 || strings.Trim(e.Name, ".") == "" && e.Name != "" {
			d.errorf(n, "name: %q is not a plain name: leave out slashes, control characters and names made of dots (the ledger and -exp=NAME use it)", e.Name)
		}
	}
	if n, ok := fields["description"]; ok {
		d.str(n, "description", &e.Description)
	}
	d.requirements(fields["requirements"], e)
	if n, ok := fields["seed"]; ok {
		d.seed(n, &e.Seed)
	}
	e.Params = Params{"seed": e.Seed}
	before := len(d.errs.list) + d.errs.extra
	for _, s := range paramSections {
		if n, ok := fields[s]; ok {
			d.section(n, s, e.Params)
		}
	}
	d.paramsBad = len(d.errs.list)+d.errs.extra > before
	if n, ok := fields["sweep"]; ok && !isNull(n) {
		d.sweep(n, e)
	}
	if n, ok := fields["venv"]; ok {
		d.venv(n, &e.Venv)
	}
	if n, ok := fields["reproduce"]; ok {
		d.reproduce(n, &e.Reproduce)
	}
	if n, ok := fields["serve"]; ok {
		d.serve(n, e)
	}
	if n, ok := fields["export"]; ok {
		d.export(n, e)
	}
	if n, ok := fields["backend"]; ok {
		d.backend(n, e)
	}
	if n, ok := fields["slurm"]; ok {
		d.slurm(n, e)
	}
	if n, ok := fields["secrets"]; ok {
		d.secrets(n, &e.Secrets)
	}
	d.stages(fields["stages"], e)
}

// str decodes a scalar into s; null keeps the default.
func (d *decoder) str(n *yaml.Node, field string, s *string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a string, found %s", field, describe(n))
		return
	}
	*s = n.Value
}

// strings decodes a string or a list of strings (null: none).
func (d *decoder) paths(n *yaml.Node, field string) ([]string, []*yaml.Node) {
	if isNull(n) {
		return nil, nil
	}
	n = deref(n)
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []string
	var nodes []*yaml.Node
	for _, it := range items {
		it = deref(it)
		if it == nil || it.Kind != yaml.ScalarNode || it.ShortTag() == "!!null" || strings.TrimSpace(it.Value) == "" {
			d.errorf(it, "%s: expected a path or a list of paths, found %s", field, describe(it))
			continue
		}
		out = append(out, it.Value)
		nodes = append(nodes, it)
	}
	return out, nodes
}

func (d *decoder) requirements(n *yaml.Node, e *Experiment) {
	reqs, nodes := d.paths(n, "requirements")
	for i, r := range reqs {
		info, err := os.Stat(rootJoin(e.Root, r))
		switch {
		case err != nil:
			d.errorf(nodes[i], "requirements: %s not found (paths are relative to the project root %s)", r, e.Root)
		case info.IsDir():
			d.errorf(nodes[i], "requirements: %s is a directory, not a requirements file", r)
		}
	}
	e.Requirements = reqs
}

func (d *decoder) seed(n *yaml.Node, seed *int) {
	if isNull(n) {
		return
	}
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, "seed: expected an integer, found %s", describe(n))
		return
	}
	v, ok := d.scalar(n, "seed")
	if !ok {
		return
	}
	i := v.(int)
	if i < 0 || i > maxSeed {
		d.errorf(n, "seed: %d is out of range: seeds go from 0 to %d (numpy's range)", i, maxSeed)
		return
	}
	*seed = i
}

// section decodes a hyperparameter section into params[name]; null is an
// empty section.
func (d *decoder) section(n *yaml.Node, name string, params Params) {
	if isNull(n) {
		params[name] = map[string]any{}
		return
	}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping of hyperparameters (key: value), found %s", name, describe(n))
		return
	}
	if v, ok := d.value(n, name, paramValue, 1); ok {
		params[name] = v
	}
}

// block returns the entries of an optional fixed-schema mapping (venv,
// reproduce), reporting unknown keys.
func (d *decoder) block(n *yaml.Node, field string, keys []string) []pair {
	if isNull(n) {
		return nil
	}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping (%s), found %s", field, strings.Join(keys, ", "), describe(n))
		return nil
	}
	var out []pair
	for _, p := range d.pairs(n, 1) {
		if !slices.Contains(keys, p.key.Value) {
			d.errorf(p.key, "%s: unknown key %q%s", field, p.key.Value, didYouMean(p.key.Value, keys))
			continue
		}
		out = append(out, p)
	}
	return out
}

func (d *decoder) venv(n *yaml.Node, v *Venv) {
	for _, p := range d.block(n, "venv", []string{"system_site_packages", "python", "installer", "dir"}) {
		field := "venv." + p.key.Value
		switch p.key.Value {
		case "system_site_packages":
			if isNull(p.val) {
				continue
			}
			if p.val.Kind != yaml.ScalarNode || p.val.ShortTag() != "!!bool" {
				d.errorf(p.val, "%s: expected true or false, found %s", field, describe(p.val))
				continue
			}
			if b, ok := d.scalar(p.val, field); ok {
				v.SystemSitePackages = b.(bool)
			}
		case "python":
			d.str(p.val, field, &v.Python)
		case "installer":
			var s string
			d.str(p.val, field, &s)
			if s != "" && !slices.Contains(installers, s) {
				d.errorf(p.val, "%s: expected one of auto, uv, pip, found %q%s", field, s, didYouMean(s, installers))
				continue
			}
			v.Installer = s
		case "dir":
			d.venvDir(p.val, &v.Dir)
		}
	}
}

// venvDir decodes venv.dir: a directory for the experiment's own venv,
// which must not be the project root or a directory of the project's code.
func (d *decoder) venvDir(n *yaml.Node, dir *string) {
	var s string
	d.str(n, "venv.dir", &s)
	if s == "" {
		return
	}
	clean := filepath.ToSlash(filepath.Clean(s))
	if top, _, _ := strings.Cut(clean, "/"); !filepath.IsAbs(s) && (clean == "." || slices.Contains(codeDirs, top)) {
		d.errorf(n, "venv.dir: %q is the project root or a directory of its code or records: name a directory of its own, like .venv-hf", s)
		return
	}
	if leavesProject(d.root, s) {
		d.errorf(n, "venv.dir: %q leaves the project: name a directory inside it, like .venv-hf, or give an absolute path to put the venv elsewhere on purpose", s)
		return
	}
	*dir = s
}

func (d *decoder) reproduce(n *yaml.Node, r *Reproduce) {
	for _, p := range d.block(n, "reproduce", []string{"tolerance"}) {
		if isNull(p.val) {
			continue
		}
		tag := p.val.ShortTag()
		if p.val.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
			d.errorf(p.val, "reproduce.tolerance: expected a number, found %s", describe(p.val))
			continue
		}
		v, ok := d.scalar(p.val, "reproduce.tolerance")
		if !ok {
			continue
		}
		f, isF := v.(float64)
		if !isF {
			f = float64(v.(int))
		}
		if f < 0 {
			d.errorf(p.val, "reproduce.tolerance: must be 0 or more, found %s", p.val.Value)
			continue
		}
		r.Tolerance = f
	}
}

// leavesProject reports whether the relative path p, taken from root,
// lands outside it ("../x", "a/../../b"); absolute paths say where they go
// on purpose and do not count.
func leavesProject(root, p string) bool {
	return !filepath.IsAbs(p) && !inside(root, filepath.Join(root, p))
}

// rootJoin resolves a path from the experiment file against the project root.
func rootJoin(root, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(root, filepath.FromSlash(p))
}

// display returns path relative to root (slash-separated) when it is inside
// root, else path unchanged: how files are named in messages.
func display(root, path string) string {
	if !inside(root, path) {
		return path
	}
	rel, _ := filepath.Rel(root, path)
	return filepath.ToSlash(rel)
}
