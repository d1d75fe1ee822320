package config

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Set applies overrides like `train.lr=3e-4 train.epochs=3 seed=1`:
// whitespace-separated key=value items, where single or double quotes group
// text with spaces (train.note="a b"; a backslash escapes the next character
// inside double quotes and outside quotes). Keys are dotted and must already
// exist; values are parsed as YAML (3e-4 is a float, 3 an int, [1,2] a list,
// null is null) and may not change a value's kind (number, string, bool, list),
// except that int and float mix freely and a null value takes anything.
// seed=N also sets e.Seed. Either every item applies or none does.
func (e *Experiment) Set(overrides string) error {
	items, err := splitOverrides(overrides)
	if err != nil {
		return fmt.Errorf("-set: %w", err)
	}
	p, seed := e.Params.clone(), e.Seed
	if p == nil {
		p = Params{"seed": seed}
	}
	given := map[string]string{}
	for _, it := range items {
		key, text, ok := strings.Cut(it, "=")
		key = strings.TrimSpace(key)
		switch {
		case !ok:
			return fmt.Errorf("-set: %q has no \"=\" (write key=value, e.g. train.lr=0.01)", it)
		case key == "":
			return fmt.Errorf("-set: %q has an empty key (write key=value, e.g. train.lr=0.01)", it)
		case given[key] != "":
			return fmt.Errorf("-set: %s is set twice (%s and %s): give it once", key, given[key], it)
		}
		given[key] = it
		v, err := overrideValue(p, key, text)
		if err != nil {
			return fmt.Errorf("-set: %w", err)
		}
		if key == "seed" {
			seed = v.(int)
		}
		setPath(p, key, v)
	}
	e.Params, e.Seed = p, seed
	if e.Sweep != nil && !e.Sweep.seedSet {
		sw := *e.Sweep
		sw.Seed = seed
		e.Sweep = &sw
	}
	return nil
}

// KV is one typed override: a sweep trial's value of one parameter.
type KV struct {
	Key   string
	Value any
}

// With returns a copy of e with values set, checked as Set checks them: the
// keys must exist and keep their kind. e is not changed.
func (e *Experiment) With(values []KV) (*Experiment, error) {
	p, seed := e.Params.clone(), e.Seed
	if p == nil {
		p = Params{"seed": seed}
	}
	for _, kv := range values {
		if err := checkKey(p, kv.Key); err != nil {
			return nil, err
		}
		v := cloneValue(kv.Value)
		if err := checkValue(p, kv.Key, formatValue(v), v); err != nil {
			return nil, err
		}
		if kv.Key == "seed" {
			seed = v.(int)
		}
		setPath(p, kv.Key, v)
	}
	c := *e
	c.Params, c.Seed = p, seed
	return &c, nil
}

// checkKey reports a key that is not a leaf of p.
func checkKey(p Params, key string) error {
	old, ok := p.Lookup(key)
	if !ok {
		return unknownOverride(p, key)
	}
	if _, isMap := asMap(old); isMap {
		return fmt.Errorf("%s is a section: set its keys instead (%s)", key, keysUnder(p, key))
	}
	return nil
}

// overrideValue parses and checks the value of one key=text item against the
// current value of key in p.
func overrideValue(p Params, key, text string) (any, error) {
	if err := checkKey(p, key); err != nil {
		return nil, err
	}
	v, err := parseOverride(key, text)
	if err != nil {
		return nil, err
	}
	return v, checkValue(p, key, text, v)
}

// checkValue checks that v, written text, may replace key's value in p.
func checkValue(p Params, key, text string, v any) error {
	old, _ := p.Lookup(key)
	if key == "seed" {
		i, isInt := v.(int)
		if !isInt || i < 0 || i > maxSeed {
			return fmt.Errorf("seed=%s: the seed is an integer from 0 to %d", text, maxSeed)
		}
		return nil
	}
	if was, now := kind(old), kind(v); was != "null" && now != "null" && was != now {
		hint := ""
		if was == "string" {
			hint = fmt.Sprintf("; to pass it as a string quote it for YAML: %s=\"'%s'\"", key, text)
		}
		return fmt.Errorf("%s=%s would change a %s (now %s) into a %s%s", key, text, was, formatValue(old), now, hint)
	}
	return nil
}

// unknownOverride reports a key that is not in the params, with the nearest
// one when it is close.
func unknownOverride(p Params, key string) error {
	keys := p.Keys()
	for k, v := range p {
		if _, isMap := asMap(v); isMap {
			keys = append(keys, k)
		}
	}
	if s, ok := nearest(key, keys); ok {
		return fmt.Errorf("unknown key %q (did you mean %q?)", key, s)
	}
	// Name what exists where the key went astray: the keys of the deepest
	// section on its path, or the top-level keys.
	parts := strings.Split(key, ".")
	for i := len(parts) - 1; i > 0; i-- {
		prefix := strings.Join(parts[:i], ".")
		if v, ok := p.Lookup(prefix); ok {
			if _, isMap := asMap(v); isMap {
				return fmt.Errorf("unknown key %q (%s has: %s)", key, prefix, keysUnder(p, prefix))
			}
		}
	}
	top := make([]string, 0, len(p))
	for k := range p {
		top = append(top, k)
	}
	sort.Strings(top)
	return fmt.Errorf("unknown key %q (overrides change existing keys; the top-level keys are %s)", key, strings.Join(top, ", "))
}

// keysUnder lists the leaf keys under section, a few at most.
func keysUnder(p Params, section string) string {
	var keys []string
	for _, k := range p.Keys() {
		if strings.HasPrefix(k, section+".") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	if len(keys) > 6 {
		keys = append(keys[:6], "…")
	}
	return strings.Join(keys, ", ")
}

// parseOverride parses an override value as YAML: a scalar or a flow list of
// scalars.
func parseOverride(key, text string) (any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s has an empty value (write %s=null to clear it, %s=\"''\" for an empty string)", key, key, key)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf("%s=%s: not a YAML value: %s", key, text, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s=%s: not a YAML value", key, text)
	}
	n := doc.Content[0]
	if hasComment(n) {
		return nil, fmt.Errorf("%s=%s: the value holds a YAML comment (\" #\"); quote it for YAML: %s=\"'%s'\"", key, text, key, text)
	}
	if n.Kind != yaml.ScalarNode && n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s=%s: overrides take a scalar or a [list], found %s", key, text, describe(n))
	}
	d := &decoder{file: "-set"}
	v, ok := d.value(n, key, paramValue, 1)
	if !ok {
		return nil, fmt.Errorf("%s=%s: %s", key, text, d.errs.list[0].Msg)
	}
	return v, nil
}

func hasComment(n *yaml.Node) bool {
	if n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		return true
	}
	for _, c := range n.Content {
		if hasComment(c) {
			return true
		}
	}
	return false
}

// kind classifies a value for override type checks.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case int, float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

// setPath stores v at the dotted key, whose parents exist (Lookup found it).
func setPath(p Params, dotted string, v any) {
	parts := strings.Split(dotted, ".")
	m := map[string]any(p)
	for _, k := range parts[:len(parts)-1] {
		m, _ = asMap(m[k])
	}
	m[parts[len(parts)-1]] = v
}

// splitOverrides splits the -set string into items: whitespace separates,
// quotes group, and a backslash escapes the next character outside single
// quotes.
func splitOverrides(s string) ([]string, error) {
	var items []string
	var cur strings.Builder
	inItem := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\':
			esc, inItem = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inItem = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inItem {
				items = append(items, cur.String())
				cur.Reset()
				inItem = false
			}
		default:
			cur.WriteRune(r)
			inItem = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if esc {
		cur.WriteRune('\\')
	}
	if inItem {
		items = append(items, cur.String())
	}
	return items, nil
}
