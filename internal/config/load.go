package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads experiment nameOrPath from root: a path (it contains a path
// separator or ends in .yaml/.yml) relative to root or absolute, else
// root/experiments/NAME.yaml (or .yml). The result is validated: every error
// found is reported, each at its file:line:col.
func Load(root, nameOrPath string) (*Experiment, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("load experiment: project root %s: %w", root, err)
	}
	if strings.TrimSpace(nameOrPath) == "" {
		return nil, fmt.Errorf("load experiment: no experiment named (experiments: %s)", listExperiments(absRoot))
	}
	if leavesProject(absRoot, nameOrPath) {
		return nil, fmt.Errorf("load experiment %s: it lies outside the project %s; give its absolute path to load it from there on purpose", nameOrPath, absRoot)
	}
	file := experimentFile(absRoot, nameOrPath)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(file); lerr == nil {
			return nil, fmt.Errorf("experiment %q: %s is a symlink to %s, which does not exist (a dangling link): fix or remove the link", nameOrPath, display(absRoot, file), target)
		}
		return nil, notFound(absRoot, nameOrPath, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load experiment %s: %w", display(absRoot, file), err)
	}
	return parse(absRoot, file, data)
}

// experimentFile maps a name or path to the file it means.
func experimentFile(root, nameOrPath string) string {
	isPath := strings.ContainsRune(nameOrPath, '/') || strings.ContainsRune(nameOrPath, filepath.Separator) ||
		strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml")
	if isPath {
		file := rootJoin(root, nameOrPath)
		// `-exp=digits.yaml` means experiments/digits.yaml unless root has one.
		if bare := filepath.Join(root, "experiments", nameOrPath); filepath.Base(nameOrPath) == nameOrPath && !fileExists(file) && fileExists(bare) {
			return bare
		}
		return file
	}
	file := filepath.Join(root, "experiments", nameOrPath+".yaml")
	if _, err := os.Stat(file); err != nil {
		if yml := filepath.Join(root, "experiments", nameOrPath+".yml"); fileExists(yml) {
			return yml
		}
	}
	return file
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// notFound explains a missing experiment and lists the ones that exist.
func notFound(root, name string, err error) error {
	names := experimentNames(root)
	hint := ""
	if s, ok := nearest(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)), names); ok {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	return fmt.Errorf("experiment %q not found%s: %w; experiments: %s", name, hint, err, listExperiments(root))
}

// experimentNames returns the names of root/experiments/*.yaml|yml, sorted.
func experimentNames(root string) []string {
	entries, err := os.ReadDir(filepath.Join(root, "experiments"))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, strings.TrimSuffix(e.Name(), ext))
		}
	}
	sort.Strings(names)
	return names
}

func listExperiments(root string) string {
	names := experimentNames(root)
	dir := filepath.Join(root, "experiments")
	if len(names) == 0 {
		return "none in " + dir
	}
	return strings.Join(names, ", ") + " (in " + dir + ")"
}

// parse decodes and validates the bytes of the experiment file at file.
func parse(root, file string, data []byte) (*Experiment, error) {
	sum := sha256.Sum256(data)
	base := filepath.Base(file)
	e := &Experiment{
		Name: strings.TrimSuffix(base, filepath.Ext(base)),
		File: file,
		Root: root,
		Hash: hex.EncodeToString(sum[:]),
	}
	d := &decoder{root: root, file: display(root, file)}
	top, err := d.document(data)
	if err != nil {
		return nil, err
	}
	d.experiment(top, e)
	if strings.TrimSpace(e.Name) == "" {
		e.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// document parses data into its top-level mapping: one YAML document, not
// empty, a mapping.
func (d *decoder) document(data []byte) (top *yaml.Node, err error) {
	defer func() {
		// A parser bug on odd input must not take the whole build down.
		if r := recover(); r != nil {
			top, err = nil, &Error{Pos: Pos{File: d.file}, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, &Error{Pos: Pos{File: d.file}, Msg: "empty experiment file (see experiments/default.yaml for the keys)"}
	} else if err != nil {
		return nil, d.syntaxError(err, data)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != nil && err != io.EOF {
		return nil, d.syntaxError(err, data)
	} else if err == nil && !(len(next.Content) == 1 && isNull(next.Content[0])) {
		return nil, &Error{Pos: d.pos(&next), Msg: "a second YAML document (---) is not supported: one experiment per file"}
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		return nil, &Error{Pos: Pos{File: d.file}, Msg: "empty experiment file (see experiments/default.yaml for the keys)"}
	}
	top = deref(doc.Content[0])
	if top == nil || top.Kind != yaml.MappingNode {
		return nil, &Error{Pos: d.pos(doc.Content[0]), Msg: fmt.Sprintf("an experiment is a mapping of keys (name, stages, train, ...), found %s", describe(doc.Content[0]))}
	}
	return top, nil
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are yaml.v3's parser (not scanner) errors: it prints their
// line 0-based, and leaves the line out when it is the first one.
var parserProblems = []string{
	"did not find expected key", "did not find expected node content",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "found undefined tag handle",
	"found duplicate %YAML directive", "found duplicate %TAG directive",
	"found incompatible YAML document",
}

// syntaxError turns a yaml.v3 error ("yaml: line 3: ...") into a positioned
// *Error, correcting yaml.v3's line numbering: scanner errors are 1-based,
// parser errors 0-based, and either leaves the line out on line 1.
func (d *decoder) syntaxError(err error, data []byte) error {
	msg := err.Error()
	pos := Pos{File: d.file}
	switch m := yamlLine.FindStringSubmatch(msg); {
	case m != nil:
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(parserProblems, msg) {
			pos.Line++
		}
	case unknownAnchor.MatchString(msg):
		name := unknownAnchor.FindStringSubmatch(msg)[1]
		pos.Line, pos.Col = findAlias(data, name)
		msg = strings.TrimPrefix(msg, "yaml: ")
	case strings.HasPrefix(msg, "yaml: "):
		msg = strings.TrimPrefix(msg, "yaml: ")
		pos.Line = 1
	}
	return &Error{Pos: pos, Msg: "YAML syntax error: " + msg, Err: err}
}

// findAlias returns the 1-based line and column of the first *name in data,
// or 0, 0.
func findAlias(data []byte, name string) (int, int) {
	for line, text := range strings.Split(string(data), "\n") {
		for off := 0; ; {
			i := strings.Index(text[off:], "*"+name)
			if i < 0 {
				break
			}
			end := off + i + 1 + len(name)
			if end == len(text) || strings.ContainsRune(" \t,]}\r", rune(text[end])) {
				return line + 1, off + i + 1
			}
			off = end
		}
	}
	return 0, 0
}

// Names lists the experiments of the project at root: the names of
// experiments/*.yaml (and .yml), sorted.
func Names(root string) []string { return experimentNames(root) }
