package adopt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// outDirKey matches the options through which a script is told where to
// write its outputs: init points the first at ${out}, so that its
// checkpoints, event files and logs land in the run's directory.
var outDirKey = regexp.MustCompile(`^(out|output|outdir|out_dir|output_dir|output_path|work_dir|workdir|save_dir|save_path|savedir|log_dir|logdir|logging_dir|checkpoint_dir|ckpt_dir|run_dir|results_dir|exp_dir|experiment_dir)$`)

// arg is how one option is passed: as a param of the train section
// (Value is its YAML, "" for none) through Template, or not at all (Skip).
type arg struct {
	Opt      Option
	Key      string
	Value    string // YAML of the param's value; "" when the option is no param
	Template string // the command's piece for it
	Note     string // a comment for the param
	Skip     string // why the option is not passed
}

// args decides how each option is passed. The first output-directory
// option is pointed at ${out} (the others at a directory under it), seed
// is the experiment's seed, and an option whose default is not a literal,
// or None, is passed only when its param is set.
func args(p *Parser) []arg {
	var out []arg
	seen := map[string]bool{}
	outDone := false
	for _, o := range p.Options {
		a := arg{Opt: o, Key: o.Key()}
		flag := o.long()
		switch {
		case seen[a.Key]:
			a.Skip = "its param key " + a.Key + " is another option's too"
		case slices.Contains([]string{"help", "version", "count", "append", "append_const", "store_const", "extend"}, o.Action):
			a.Skip = "action=" + o.Action + " has no value to pass from a param"
		case o.Nargs != nil && o.Nargs != "?":
			a.Skip = fmt.Sprintf("nargs=%v takes several values: add it to the command by hand", o.Nargs)
		case !o.positional() && outDirKey.MatchString(a.Key):
			a.Template = flag + " ${out}"
			if outDone {
				a.Template = flag + " ${out}/" + a.Key
			}
			outDone = true
		case a.Key == "seed" && literalInt(o.Default):
			a.Template = flag + " ${seed}"
		case o.Action == "store_true" || o.Action == "store_false":
			a.Value, a.Template = "false", "${train."+a.Key+"?"+flag+"}"
			a.Note = "true passes " + flag
		case strings.HasSuffix(o.Action, "BooleanOptionalAction"):
			no := "--no-" + strings.TrimPrefix(flag, "--")
			a.Value, a.Template = yamlValue(o.Default), "${train."+a.Key+"?"+flag+":"+no+"}"
			a.Note = "true passes " + flag + ", false " + no + ", null neither"
		case o.Type == "bool":
			a.Value, a.Template = yamlValue(o.Default), "${train."+a.Key+"?"+flag+"=1:"+flag+"=}"
			a.Note = "type=bool: passed as 1 or an empty value, the only texts argparse reads as True and False"
		case o.positional():
			a.Value, a.Template = yamlValue(o.Default), "${train."+a.Key+"}"
			if o.Default == nil {
				a.Note = "positional: give it a value"
			}
		case o.Default == nil || string(o.Default) == "null":
			a.Value, a.Template = "null", "${train."+a.Key+"?"+flag+"}"
			switch {
			case o.Required:
				a.Note = "required: give it a value"
			case o.Source != "":
				a.Note = "null: the script's default, " + o.Source
			default:
				a.Note = "null: not passed (the script's default, None)"
			}
		default:
			a.Value, a.Template = yamlValue(o.Default), flag+" ${train."+a.Key+"}"
		}
		if a.Skip == "" {
			seen[a.Key] = true
		}
		out = append(out, a)
	}
	return out
}

// exampleParam is the param the hints use: the first float one (a learning
// rate, usually), else the first integer one.
func exampleParam(all []arg) (arg, bool) {
	var intArg *arg
	for i, a := range all {
		if a.Skip != "" || a.Value == "" || a.Opt.positional() {
			continue
		}
		if _, err := strconv.ParseFloat(a.Value, 64); err != nil {
			continue
		}
		if strings.ContainsAny(a.Value, ".eE") {
			return a, true
		}
		if intArg == nil {
			intArg = &all[i]
		}
	}
	if intArg != nil {
		return *intArg, true
	}
	return arg{}, false
}

// literalInt reports whether raw is a JSON integer.
func literalInt(raw json.RawMessage) bool {
	_, err := strconv.Atoi(string(raw))
	return err == nil
}

// yamlValue writes a JSON literal as YAML that reads back as the same
// type: floats keep a point or exponent (1.0, not 1), strings are quoted
// when YAML would read them otherwise, null stays null.
func yamlValue(raw json.RawMessage) string {
	if raw == nil {
		return "null"
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return "null"
	}
	switch t := v.(type) {
	case json.Number:
		s := t.String()
		if strings.ContainsAny(s, ".eE") {
			f, _ := t.Float64()
			s = strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0"
			}
			if strings.Contains(s, "e") && !strings.Contains(s, ".") {
				m, e, _ := strings.Cut(s, "e")
				s = m + ".0e" + e // 5e-04 reads as a string in YAML 1.1 resolvers; 5.0e-04 as a float everywhere
			}
		}
		return s
	case nil:
		return "null"
	}
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

// ExperimentFile is what init writes as experiments/default.yaml.
type ExperimentFile struct {
	Name         string
	Script       string   // relative to the root, slash-separated
	Requirements []string // relative to the root
	Deps         []string // data files the options name
	Parser       *Parser  // nil: no script was read
}

// YAML is the experiment file's text: a command stage running the script
// with every option it could pass from a param of train:, each param's
// help as its comment, and what it left out said at the top.
func (f ExperimentFile) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `go tool mage init`")
	if f.Parser != nil {
		fmt.Fprintf(&b, " from the argparse options of %s", f.Script)
	}
	b.WriteString(": edit freely.\n")
	b.WriteString("# Params are typed by YAML; override any with -set, e.g. go tool mage train -set=\"train.KEY=VALUE\".\n")
	all := []arg{}
	if f.Parser != nil {
		all = args(f.Parser)
	}
	for _, a := range all {
		if a.Skip != "" {
			fmt.Fprintf(&b, "# not passed: %s (line %d): %s\n", a.Opt.long(), a.Opt.Line, a.Skip)
		}
	}
	for _, s := range f.skipped() {
		fmt.Fprintf(&b, "# not read: line %d: %s\n", s.Line, s.Why)
	}
	fmt.Fprintf(&b, "name: %s\n", yamlString(f.Name))
	if len(f.Requirements) > 0 {
		fmt.Fprintf(&b, "requirements: [%s]\n", strings.Join(quoteAll(f.Requirements), ", "))
	} else {
		b.WriteString("# requirements: [requirements.txt]   # the packages the venv installs (none found)\n")
	}
	b.WriteString("stages:\n  train:\n    cmd: >-\n      python " + f.Script + "\n")
	for _, a := range all {
		if a.Skip == "" {
			b.WriteString("      " + a.Template + "\n")
		}
	}
	if len(f.Deps) > 0 {
		fmt.Fprintf(&b, "    deps: [%s]   # data the options name: a change retrains\n", strings.Join(quoteAll(f.Deps), ", "))
	}
	b.WriteString("    # metrics: TensorBoard event files, a metrics.csv or metrics.json the script writes under ${out} are read;\n")
	b.WriteString("    # for printed lines declare patterns (docs/adopt.md):\n")
	b.WriteString("    # metrics: {patterns: ['step (?P<step>\\d+) .* loss (?P<loss>\\S+)']}\n")
	f.writeSeed(&b, all)
	if a, ok := exampleParam(all); ok {
		fmt.Fprintf(&b, "# sweep:                      # go tool mage sweep (docs/sweeps.md)\n#   parameters:\n#     train.%s: [%s]   # the values to try\n#   metric: Loss/test            # a metric the runs record: see go tool mage runs:show\n#   goal: minimize\n", a.Key, a.Value)
	}
	b.WriteString("train:")
	params := 0
	for _, a := range all {
		if a.Skip == "" && a.Value != "" {
			params++
		}
	}
	if params == 0 {
		b.WriteString(" {}\n")
		return b.String()
	}
	b.WriteString("\n")
	for _, a := range all {
		if a.Skip != "" || a.Value == "" {
			continue
		}
		line := fmt.Sprintf("  %s: %s", a.Key, a.Value)
		if c := a.comment(); c != "" {
			line += "   # " + c
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// writeSeed writes the experiment's seed: the script's --seed default when
// the command passes ${seed}.
func (f ExperimentFile) writeSeed(b *strings.Builder, all []arg) {
	for _, a := range all {
		if strings.HasSuffix(a.Template, " ${seed}") {
			fmt.Fprintf(b, "seed: %s   # passed as %s\n", string(a.Opt.Default), a.Opt.long())
			return
		}
	}
}

func (f ExperimentFile) skipped() []Skipped {
	if f.Parser == nil {
		return nil
	}
	return f.Parser.Skipped
}

// comment is the param's comment: its help, choices and note, on one line.
func (a arg) comment() string {
	var parts []string
	if h := strings.Join(strings.Fields(a.Opt.Help), " "); h != "" {
		parts = append(parts, h)
	}
	if len(a.Opt.Choices) > 0 {
		c := make([]string, len(a.Opt.Choices))
		for i, v := range a.Opt.Choices {
			c[i] = fmt.Sprint(v)
		}
		parts = append(parts, "one of "+strings.Join(c, ", "))
	}
	if a.Note != "" {
		parts = append(parts, a.Note)
	}
	return strings.Join(parts, "; ")
}

func yamlString(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSpace(string(b))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = yamlString(s)
	}
	return out
}
