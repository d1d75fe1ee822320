package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// stageKeys are the keys of a stage written as a mapping.
var stageKeys = []string{"script", "cmd", "metrics", "deps"}

// cmdVars are the names a command template may use besides params.
var cmdVars = []string{"in", "out", "run_dir", "python", "root", "resume_dir"}

// stages decodes the `stages:` block, or discovers python/<stage>.py scripts
// when it is absent or empty.
func (d *decoder) stages(n *yaml.Node, e *Experiment) {
	n = deref(n)
	if isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		d.discover(n, e)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "stages: expected a mapping of stage name to script or {cmd: ...}, found %s", describe(n))
		return
	}
	byName := map[string]Stage{}
	for _, p := range d.pairs(n, 1) {
		name := p.key.Value
		if !slices.Contains(StageOrder, name) {
			d.errorf(p.key, "stages: unknown stage %q%s; stages are %s", name, didYouMean(name, StageOrder), strings.Join(StageOrder, ", "))
			continue
		}
		if s, ok := d.stage(name, p, e); ok {
			byName[name] = s
		}
	}
	for _, name := range StageOrder {
		if s, ok := byName[name]; ok {
			e.Stages = append(e.Stages, s)
		}
	}
}

// stage decodes one entry of `stages:`: a script path or a mapping.
func (d *decoder) stage(name string, p pair, e *Experiment) (Stage, bool) {
	s := Stage{Name: name, Pos: d.pos(p.key)}
	field := "stages." + name
	v := p.val
	switch {
	case isNull(v):
		d.errorf(p.key, "%s: no script or command given (write %s: python/%s.py or %s: {cmd: ...})", field, name, scriptBase(name), name)
		return s, false
	case v.Kind == yaml.ScalarNode:
		if !strings.HasSuffix(v.Value, ".py") {
			d.errorf(v, "%s: %q is not a Python script (.py); to run a command write %s: {cmd: %q}", field, v.Value, name, v.Value)
			return s, false
		}
		return d.script(s, v, field, e)
	case v.Kind == yaml.MappingNode:
		return d.stageMapping(s, v, field, e)
	}
	d.errorf(v, "%s: expected a script path or a mapping {script: ...} / {cmd: ...}, found %s", field, describe(v))
	return s, false
}

func (d *decoder) stageMapping(s Stage, n *yaml.Node, field string, e *Experiment) (Stage, bool) {
	nodes := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, 2) {
		if !slices.Contains(stageKeys, p.key.Value) {
			d.errorf(p.key, "%s: unknown key %q%s; a stage has script, or cmd with optional metrics and deps", field, p.key.Value, didYouMean(p.key.Value, stageKeys))
			continue
		}
		nodes[p.key.Value] = p.val
	}
	script, cmd := nodes["script"], nodes["cmd"]
	switch {
	case script != nil && cmd != nil:
		d.errorf(n, "%s: give either script or cmd, not both", field)
		return s, false
	case script != nil:
		for _, k := range []string{"metrics", "deps"} {
			if nodes[k] != nil {
				d.errorf(nodes[k], "%s.%s: only command stages take %s (the script writes OUTPUT_DIR/metrics.json)", field, k, k)
			}
		}
		if isNull(script) || script.Kind != yaml.ScalarNode {
			d.errorf(script, "%s.script: expected a path to a .py file, found %s", field, describe(script))
			return s, false
		}
		if !strings.HasSuffix(script.Value, ".py") {
			d.errorf(script, "%s.script: %q is not a Python script (.py); to run another program use {cmd: ...}", field, script.Value)
			return s, false
		}
		return d.script(s, script, field+".script", e)
	case cmd != nil:
		return d.cmd(s, nodes, field, e)
	}
	d.errorf(n, "%s: give script: path/to/script.py or cmd: \"command ${out}\"", field)
	return s, false
}

// script checks that the script exists and records it cleaned, relative to
// the root when it lies inside it.
func (d *decoder) script(s Stage, n *yaml.Node, field string, e *Experiment) (Stage, bool) {
	abs := rootJoin(e.Root, n.Value)
	info, err := os.Stat(abs)
	switch {
	case err != nil:
		d.errorf(n, "%s: script %s not found (resolved against the project root %s)%s", field, n.Value, e.Root, nearbyScript(e.Root, n.Value))
		return s, false
	case !info.Mode().IsRegular():
		d.errorf(n, "%s: script %s is not a regular file", field, n.Value)
		return s, false
	}
	s.Script = display(e.Root, abs)
	return s, true
}

// nearbyScript suggests the .py file in the same directory closest to a
// missing script's name.
func nearbyScript(root, p string) string {
	dir := path.Dir(filepath.ToSlash(p))
	entries, err := os.ReadDir(rootJoin(root, dir))
	if err != nil {
		return ""
	}
	var names []string
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".py") && !en.IsDir() {
			names = append(names, en.Name())
		}
	}
	if s, ok := nearest(path.Base(filepath.ToSlash(p)), names); ok {
		return fmt.Sprintf(" (did you mean %s?)", path.Join(dir, s))
	}
	return ""
}

// cmd decodes a command stage and checks every ${name} in its templates.
func (d *decoder) cmd(s Stage, nodes map[string]*yaml.Node, field string, e *Experiment) (Stage, bool) {
	ok := true
	metrics := nodes["metrics"]
	if m := deref(metrics); m != nil && m.Kind == yaml.MappingNode {
		var file *yaml.Node
		file, s.Patterns, ok = d.metricsMapping(m, field+".metrics")
		metrics = file
	}
	for _, k := range []string{"cmd", "metrics"} {
		n := nodes[k]
		if k == "metrics" {
			n = metrics
		}
		if n == nil {
			continue
		}
		if n.Kind != yaml.ScalarNode || isNull(n) {
			what := "a command template string"
			if k == "metrics" {
				what = "a metrics file template or a mapping {file: ..., patterns: [...]}"
			}
			d.errorf(n, "%s.%s: expected %s, found %s", field, k, what, describe(n))
			ok = false
			continue
		}
		t := n.Value
		if k == "cmd" && strings.TrimSpace(t) == "" {
			d.errorf(n, "%s.cmd: empty command", field)
			ok = false
			continue
		}
		// With a broken param section, unknown names are only echoes of it.
		if err := checkTemplate(t, e.Params); err != nil && !d.paramsBad {
			d.errorf(n, "%s.%s: %v", field, k, err)
			ok = false
		}
		if k == "cmd" {
			s.Cmd, s.CmdPos = t, d.pos(n)
		} else {
			s.Metrics = t
		}
	}
	deps, depNodes := d.paths(nodes["deps"], field+".deps")
	for i, dep := range deps {
		if leavesProject(e.Root, dep) {
			d.errorf(depNodes[i], "%s.deps: %q leaves the project (it is %s): deps are files of the project; give an absolute path to name one outside it on purpose", field, dep, filepath.Join(e.Root, dep))
			ok = false
			continue
		}
		s.Deps = append(s.Deps, dep)
	}
	return s, ok
}

// metricsKeys are the keys of a stage's metrics: written as a mapping.
var metricsKeys = []string{"file", "patterns"}

// metricsMapping decodes `metrics: {file: ..., patterns: [...]}`: the file
// node (nil when absent) and the compiled patterns, each checked to be an
// RE2 regular expression with at least one named group besides step.
func (d *decoder) metricsMapping(n *yaml.Node, field string) (*yaml.Node, []*regexp.Regexp, bool) {
	ok := true
	var file *yaml.Node
	var patterns []*regexp.Regexp
	for _, p := range d.pairs(n, 3) {
		switch p.key.Value {
		case "file":
			file = p.val
		case "patterns":
			var good bool
			patterns, good = d.patterns(p.val, field+".patterns")
			ok = ok && good
		default:
			d.errorf(p.key, "%s: unknown key %q%s; metrics takes file and patterns", field, p.key.Value, didYouMean(p.key.Value, metricsKeys))
			ok = false
		}
	}
	return file, patterns, ok
}

// patterns decodes a list of output patterns.
func (d *decoder) patterns(n *yaml.Node, field string) ([]*regexp.Regexp, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list of regular expressions, found %s", field, describe(n))
		return nil, false
	}
	ok := true
	var out []*regexp.Regexp
	for i, it := range n.Content {
		it = deref(it)
		f := fmt.Sprintf("%s[%d]", field, i)
		if it == nil || it.Kind != yaml.ScalarNode || isNull(it) {
			d.errorf(it, "%s: expected a regular expression string, found %s", f, describe(it))
			ok = false
			continue
		}
		re, err := regexp.Compile(it.Value)
		if err != nil {
			d.errorf(it, "%s: %q is not a regular expression Go reads (RE2: no lookaround, no backreferences): %v", f, it.Value, err)
			ok = false
			continue
		}
		if !hasMetricGroup(re) {
			d.errorf(it, "%s: %q names no metric: write a named group (?P<name>...) for each number to record, and (?P<step>\\d+) for the step", f, it.Value)
			ok = false
			continue
		}
		out = append(out, re)
	}
	return out, ok
}

// hasMetricGroup reports whether re has a named group other than step.
func hasMetricGroup(re *regexp.Regexp) bool {
	for _, name := range re.SubexpNames() {
		if name != "" && name != "step" {
			return true
		}
	}
	return false
}

// checkTemplate reports the first unknown or malformed ${...} in t, knowing
// only the names a command may use (cmdVars and params).
func checkTemplate(t string, p Params) error {
	vars := map[string]string{}
	for _, v := range cmdVars {
		vars[v] = ""
	}
	_, err := Expand(t, p, vars)
	return err
}

// scriptBase is the default script name of a stage: setup-data → setup_data.
func scriptBase(stage string) string { return strings.ReplaceAll(stage, "-", "_") }

// defaultScripts lists the scripts discovery tries for a stage, in order.
func defaultScripts(stage string) []string {
	s := []string{"python/" + scriptBase(stage) + ".py"}
	if stage == "eval" {
		s = append(s, "python/evaluate.py")
	}
	return s
}

// discover configures every stage whose python/<stage>.py exists.
func (d *decoder) discover(n *yaml.Node, e *Experiment) {
	var tried []string
	for _, name := range StageOrder {
		for _, rel := range defaultScripts(name) {
			tried = append(tried, rel)
			if info, err := os.Stat(rootJoin(e.Root, rel)); err == nil && info.Mode().IsRegular() {
				e.Stages = append(e.Stages, Stage{Name: name, Script: rel, Pos: Pos{File: d.file}})
				break
			}
		}
	}
	if len(e.Stages) == 0 {
		d.errs.add(&Error{Pos: d.pos(n), Msg: fmt.Sprintf("no stages: add a stages: block or create one of %s under %s", strings.Join(tried, ", "), e.Root)})
	}
}
