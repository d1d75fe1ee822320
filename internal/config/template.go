package config

import (
	"fmt"
	"sort"
	"strings"
)

// Expand fills a command template: ${name} takes a dotted param (train.lr,
// seed) or one of vars (in, out, run_dir, python, root …), vars first. Values
// are shell-quoted: simple words and numbers as they are, anything else in
// POSIX single quotes. Floats print as in PARAMS.json (1.0, 0.0003, 1.0e-07),
// bools as true/false, null as an empty quoted word and lists as their JSON. $$ is a literal $,
// and a $ not followed by { or $ is kept for the shell ($HOME). An unknown
// name is an error naming it and the nearest known names; so are an
// unterminated ${ and a ${name} that is a whole section.
func Expand(template string, p Params, vars map[string]string) (string, error) {
	return expand(template, p, vars, shellQuote)
}

// ExpandPath fills a template that names a file, such as a command stage's
// metrics file: like Expand, but values go in as they are, unquoted, since
// no shell reads the result.
func ExpandPath(template string, p Params, vars map[string]string) (string, error) {
	return expand(template, p, vars, func(s string) string { return s })
}

func expand(template string, p Params, vars map[string]string, quote func(string) string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(template); {
		c := template[i]
		if c != '$' || i+1 >= len(template) || (template[i+1] != '$' && template[i+1] != '{') {
			b.WriteByte(c)
			i++
			continue
		}
		if template[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		end := strings.IndexByte(template[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ at offset %d (write $$ for a literal $)", i)
		}
		name := strings.TrimSpace(template[i+2 : i+2+end])
		val, err := lookupName(name, p, vars, quote)
		if err != nil {
			return "", err
		}
		b.WriteString(val)
		i += 2 + end + 1
	}
	return b.String(), nil
}

// lookupName returns the value of one ${name}, quoted by quote.
func lookupName(name string, p Params, vars map[string]string, quote func(string) string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty ${} (write $$ for a literal $)")
	}
	if v, ok := vars[name]; ok {
		return quote(v), nil
	}
	v, ok := p.Lookup(name)
	if !ok {
		return "", unknownName(name, p, vars)
	}
	if _, isMap := asMap(v); isMap {
		return "", fmt.Errorf("${%s} is a section, not a value: name one of its keys (%s)", name, keysUnder(p, name))
	}
	return quote(formatValue(v)), nil
}

// unknownName builds the error for an unknown ${name}: a suggestion when one
// name is close, else the nearest few known names.
func unknownName(name string, p Params, vars map[string]string) error {
	known := p.Keys()
	for v := range vars {
		known = append(known, v)
	}
	sort.Strings(known)
	if s, ok := nearest(name, known); ok {
		return fmt.Errorf("unknown name ${%s} (did you mean ${%s}?)", name, s)
	}
	near := nearestN(name, known, 3)
	for i, s := range near {
		near[i] = "${" + s + "}"
	}
	return fmt.Errorf("unknown name ${%s}: not a param nor one of %s (nearest known: %s)", name, strings.Join(sortedKeys(vars), ", "), strings.Join(near, ", "))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatValue renders a param value as command-line text.
func formatValue(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	return string(canonicalJSON(nil, v))
}

// shellQuote returns s unchanged when the shell reads it as one plain word,
// else wrapped in single quotes, an embedded single quote written as quote,
// backslash, quote, quote.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !shellSafe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_@%+=:,./-", r)
}
