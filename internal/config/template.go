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

// lookupName returns the value of one ${name}, quoted by quote, or of a
// flag ${name?TEXT} / ${name?TEXT:ELSE}.
func lookupName(name string, p Params, vars map[string]string, quote func(string) string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty ${} (write $$ for a literal $)")
	}
	if cond, text, ok := strings.Cut(name, "?"); ok {
		return lookupFlag(strings.TrimSpace(cond), text, p, vars, quote)
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

// lookupFlag fills ${name?TEXT} and ${name?TEXT:ELSE}, the way a command
// passes an optional flag: a param that is true gives TEXT, false gives
// ELSE (or nothing), null gives nothing, and any other value gives TEXT
// followed by the quoted value (after a space, or right after a TEXT that
// ends in =). So ${train.resume?--resume} passes a store_true flag,
// ${train.amp?--amp:--no-amp} a BooleanOptionalAction, and
// ${train.resume_from?--resume-from} an option whose default is None.
// TEXT and ELSE are written as they are, unquoted.
func lookupFlag(name, text string, p Params, vars map[string]string, quote func(string) string) (string, error) {
	then, otherwise, _ := strings.Cut(text, ":")
	if strings.TrimSpace(then) == "" {
		return "", fmt.Errorf("${%s?%s}: no flag after ? (write ${%s?--flag})", name, text, name)
	}
	if _, isVar := vars[name]; isVar {
		return "", fmt.Errorf("${%s?%s}: ? takes a param, and %s is not one", name, text, name)
	}
	v, ok := p.Lookup(name)
	if !ok {
		return "", unknownName(name, p, vars)
	}
	switch t := v.(type) {
	case bool:
		if t {
			return then, nil
		}
		return otherwise, nil
	case nil:
		return "", nil
	}
	if _, isMap := asMap(v); isMap {
		return "", fmt.Errorf("${%s?...}: %s is a section, not a value", name, name)
	}
	if strings.HasSuffix(then, "=") {
		return then + quote(formatValue(v)), nil
	}
	return then + " " + quote(formatValue(v)), nil
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
