package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile or accidental YAML (alias cycles, "billion laughs"
// alias fan-out, absurd nesting) from hanging or exhausting a load.
const (
	maxDepth = 64
	maxNodes = 200_000
)

// decoder walks a parsed experiment, collecting positioned errors.
type decoder struct {
	root  string // the project root (absolute)
	file  string // file as shown to the user
	errs  errList
	nodes int  // nodes visited, against maxNodes
	huge  bool // maxNodes was hit and reported

	paramsBad bool // a param section had errors (set by experiment)
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.add(&Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// visit counts a node against maxNodes and reports when the budget runs out.
func (d *decoder) visit(n *yaml.Node) bool {
	d.nodes++
	if d.nodes <= maxNodes {
		return true
	}
	if !d.huge {
		d.huge = true
		d.errorf(n, "the document expands to more than %d nodes (alias fan-out?)", maxNodes)
	}
	return false
}

// deref follows alias nodes to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// pair is one key/value of a mapping, aliases resolved.
type pair struct{ key, val *yaml.Node }

// pairs returns the entries of mapping n with merge keys (<<) applied: explicit
// keys win over merged ones, earlier merged mappings over later ones. Keys must
// be scalars and unique; offenders are reported and left out.
func (d *decoder) pairs(n *yaml.Node, depth int) []pair {
	if depth > maxDepth {
		d.errorf(n, "nested more than %d levels deep", maxDepth)
		return nil
	}
	if !d.visit(n) {
		return nil
	}
	var explicit, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || v == nil {
			d.errorf(n.Content[i], "alias chain too long")
			continue
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSource(v, depth)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "keys must be plain scalars, found %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key
			explicit = append(explicit, p)
		}
	}
	return explicit
}

// mergeSource returns the entries a merge key (<<) brings in: one mapping or a
// list of them.
func (d *decoder) mergeSource(v *yaml.Node, depth int) []pair {
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, depth+1)
	case yaml.SequenceNode:
		var out []pair
		seen := map[string]bool{}
		for _, item := range v.Content {
			item = deref(item)
			if item == nil || item.Kind != yaml.MappingNode {
				d.errorf(v, "a merge key (<<) takes a mapping or a list of mappings")
				return nil
			}
			for _, p := range d.pairs(item, depth+1) {
				if !seen[p.key.Value] {
					seen[p.key.Value] = true
					out = append(out, p)
				}
			}
		}
		return out
	}
	d.errorf(v, "a merge key (<<) takes a mapping or a list of mappings, found %s", describe(v))
	return nil
}

// integerLiteral is a plain decimal integer, as YAML writes one.
var integerLiteral = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// scalar converts a scalar node to int, float64, string, bool or nil. Floats
// must be finite (they end up in JSON); timestamps stay strings.
func (d *decoder) scalar(n *yaml.Node, field string) (any, bool) {
	switch tag := n.ShortTag(); tag {
	case "!!null":
		return nil, true
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, true
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorf(n, "%s: %q is not a valid !!bool", field, n.Value)
			return nil, false
		}
		return b, true
	case "!!int":
		var i int
		if err := n.Decode(&i); err != nil {
			d.errorf(n, "%s: %q is not a valid integer (or is out of range)", field, n.Value)
			return nil, false
		}
		return i, true
	case "!!float":
		if integerLiteral.MatchString(n.Value) {
			// yaml.v3 reads an integer past 64 bits as a float, which would
			// change its value without a word.
			d.errorf(n, "%s: %s is an integer too large for 64 bits (the largest is %d): write it as a float (%s.0) or a string (\"%s\")", field, n.Value, math.MaxInt64, n.Value, n.Value)
			return nil, false
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errorf(n, "%s: %q is not a valid !!float", field, n.Value)
			return nil, false
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, "%s: %s is not a finite number (params are written as JSON)", field, n.Value)
			return nil, false
		}
		return f, true
	default:
		d.errorf(n, "%s: unsupported YAML tag %s", field, tag)
		return nil, false
	}
}

// valueMode says what a decoded value may hold.
type valueMode int

const (
	paramValue valueMode = iota // hyperparameters: lists hold scalars only; keys have no dots
	rawValue                    // anything YAML can say (the sweep block)
)

// value converts n into map[string]any, []any or a scalar, reporting what
// does not fit mode. field names the dotted path for messages.
func (d *decoder) value(n *yaml.Node, field string, mode valueMode, depth int) (any, bool) {
	n = deref(n)
	if n == nil {
		d.errorf(nil, "%s: alias chain too long", field)
		return nil, false
	}
	if !d.visit(n) {
		return nil, false
	}
	if depth > maxDepth {
		d.errorf(n, "%s: nested more than %d levels deep (an alias inside its own anchor?)", shortField(field), maxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return d.scalar(n, field)
	case yaml.MappingNode:
		return d.mapping(n, field, mode, depth)
	case yaml.SequenceNode:
		return d.sequence(n, field, mode, depth)
	}
	d.errorf(n, "%s: unexpected %s", field, describe(n))
	return nil, false
}

func (d *decoder) mapping(n *yaml.Node, field string, mode valueMode, depth int) (any, bool) {
	m := map[string]any{}
	ok := true
	for _, p := range d.pairs(n, depth) {
		key := p.key.Value
		sub := key
		if field != "" {
			sub = field + "." + key
		}
		if mode == paramValue {
			switch {
			case key == "":
				d.errorf(p.key, "%s: empty key", field)
				ok = false
				continue
			case strings.Contains(key, "."):
				d.errorf(p.key, "%s: key %q must not contain a dot (dots separate nested keys in -set and ${...})", field, key)
				ok = false
				continue
			}
		}
		v, vok := d.value(p.val, sub, mode, depth+1)
		ok = ok && vok
		m[key] = v
	}
	return m, ok
}

func (d *decoder) sequence(n *yaml.Node, field string, mode valueMode, depth int) (any, bool) {
	list := make([]any, 0, len(n.Content))
	ok := true
	for i, item := range n.Content {
		sub := field + "[" + strconv.Itoa(i) + "]"
		if it := deref(item); mode == paramValue && it != nil && it.Kind != yaml.ScalarNode {
			d.errorf(it, "%s: lists in params hold scalars only, found %s", sub, describe(it))
			ok = false
			continue
		}
		v, vok := d.value(item, sub, mode, depth+1)
		ok = ok && vok
		list = append(list, v)
	}
	return list, ok
}

// shortField keeps the first components of a deep dotted path for messages.
func shortField(field string) string {
	parts := strings.SplitN(field, ".", 4)
	if len(parts) == 4 {
		return strings.Join(parts[:3], ".") + ".…"
	}
	return field
}

// describe names what a node is, for "expected X, found Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "an alias"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "float " + n.Value
		case "!!bool":
			return "bool " + n.Value
		}
		return "string " + strconv.Quote(n.Value)
	}
	return "a document"
}

// isNull reports whether n is absent or a YAML null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}
