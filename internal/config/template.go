package config

import (
	"fmt"
	"sort"
	"strings"
)

// Expand fills a command template: ${name} takes a dotted param (train.lr,
// seed) or one of vars (in, out, run_dir, python, root …), vars first. $$ is
// a literal $, and a $ not followed by { or $ is kept for the shell ($HOME).
// Floats print as in PARAMS.json (1.0, 0.0003, 1.0e-07), bools as
// true/false, null as an empty word and lists as their JSON.
//
// The template is parsed as a shell command (mvdan.cc/sh), and each value is
// written as the safe word for where its placeholder stands (see
// template_shell.go): a simple word as it is, else single-quoted when the
// placeholder is unquoted; escaped inside double quotes, single quotes and
// here-documents; quoted for the inner shell too inside the script of
// `sh -c`, `eval` or `trap`. A placeholder where no value can be made safe
// (inside backquotes, a ${...} expansion, a comment, the code of `python -c`,
// a name position) is an error, and so is a value that cannot stand where
// its placeholder is (a newline in a here-document, a non-number in
// arithmetic). Errors are *TemplateError, naming the placeholder and its
// column. An unknown name is an error naming it and the nearest known names;
// so are an unterminated ${ and a ${name} that is a whole section.
func Expand(template string, p Params, vars map[string]string) (string, error) {
	t, err := scanTemplate(template, p, vars)
	if err != nil || len(t.holes) == 0 {
		return t.text, err
	}
	repl, err := t.shellWords()
	if err != nil {
		return "", err
	}
	return t.fill(repl), nil
}

// ExpandPath fills a template that names a file, such as a command stage's
// metrics file: like Expand, but values go in as they are, unquoted, since
// no shell reads the result.
func ExpandPath(template string, p Params, vars map[string]string) (string, error) {
	t, err := scanTemplate(template, p, vars)
	if err != nil {
		return "", err
	}
	repl := make([]string, len(t.holes))
	for i, h := range t.holes {
		repl[i] = h.value
	}
	return t.fill(repl), nil
}

// TemplateError is a placeholder that cannot go where it stands in a
// command template, or a template the shell cannot parse. Line and Col are
// 1-based positions in the template itself (Line 1 for a one-line
// command); Name is the placeholder's name, "" for a syntax error.
type TemplateError struct {
	Name      string
	Line, Col int
	Msg       string
}

func (e *TemplateError) Error() string {
	where := fmt.Sprintf("column %d", e.Col)
	if e.Line > 1 {
		where = fmt.Sprintf("line %d, column %d", e.Line, e.Col)
	}
	if e.Name == "" {
		return fmt.Sprintf("not a valid shell command at %s: %s", where, e.Msg)
	}
	return fmt.Sprintf("${%s} at %s of the command: %s", e.Name, where, e.Msg)
}

// template is a command template with its placeholders resolved: text is
// the template with $$ read as $ and each placeholder replaced by its
// sentinel, a word that no template holds otherwise.
type template struct {
	src   string
	text  string
	holes []hole
	segs  []seg // text offset → template offset, for parser errors
}

// hole is one ${name} of a template.
type hole struct {
	name     string
	value    string // formatted, not quoted
	off      int    // offset of its $ in the template
	sentinel string
}

// seg maps text[at:] back to the template: text offset at is template
// offset orig, until the next seg.
type seg struct{ at, orig int }

// scanTemplate resolves every ${name} of s. Without placeholders, text is
// the final command.
func scanTemplate(s string, p Params, vars map[string]string) (*template, error) {
	t := &template{src: s}
	var b strings.Builder
	nonce := sentinelNonce(s)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) || (s[i+1] != '$' && s[i+1] != '{') {
			b.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			t.segs = append(t.segs, seg{b.Len(), i})
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return t, fmt.Errorf("unterminated ${ at offset %d (write $$ for a literal $)", i)
		}
		name := strings.TrimSpace(s[i+2 : i+2+end])
		t.segs = append(t.segs, seg{b.Len(), i})
		if cond, text, isFlag := strings.Cut(name, "?"); isFlag {
			// A flag's TEXT is the template's own, written as it is; only
			// its param's value (if any) is a hole.
			name = strings.TrimSpace(cond)
			flag, val, hasValue, err := lookupFlag(name, text, p, vars)
			if err != nil {
				return t, err
			}
			b.WriteString(flag)
			if hasValue {
				t.addHole(&b, hole{name: name, value: val, off: i}, nonce)
			}
		} else {
			val, err := lookupName(name, p, vars)
			if err != nil {
				return t, err
			}
			t.addHole(&b, hole{name: name, value: val, off: i}, nonce)
		}
		i += 2 + end + 1
		t.segs = append(t.segs, seg{b.Len(), i})
	}
	t.text = b.String()
	return t, nil
}

// addHole writes h's sentinel into b and records it.
func (t *template) addHole(b *strings.Builder, h hole, nonce string) {
	h.sentinel = fmt.Sprintf("MGLB%sH%dX", nonce, len(t.holes))
	t.holes = append(t.holes, h)
	b.WriteString(h.sentinel)
}

// sentinelNonce picks digits that make "MGLB<nonce>H" absent from s.
func sentinelNonce(s string) string {
	for n := 0; ; n++ {
		nonce := fmt.Sprint(n)
		if !strings.Contains(s, "MGLB"+nonce+"H") {
			return nonce
		}
	}
}

// fill replaces each hole's sentinel in the text with repl[i].
func (t *template) fill(repl []string) string {
	pairs := make([]string, 0, 2*len(t.holes))
	for i, h := range t.holes {
		pairs = append(pairs, h.sentinel, repl[i])
	}
	return strings.NewReplacer(pairs...).Replace(t.text)
}

// origOffset maps an offset of text back to the template.
func (t *template) origOffset(at int) int {
	orig := at
	for _, s := range t.segs {
		if s.at > at {
			break
		}
		orig = s.orig + (at - s.at)
	}
	return orig
}

// lineCol is the 1-based line and column (in characters) of offset off of
// the template.
func (t *template) lineCol(off int) (int, int) {
	off = min(max(off, 0), len(t.src))
	before := t.src[:off]
	line := strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, len([]rune(before[lineStart:])) + 1
}

// errorAt builds the TemplateError of hole i.
func (t *template) errorAt(i int, format string, args ...any) *TemplateError {
	line, col := t.lineCol(t.holes[i].off)
	return &TemplateError{Name: t.holes[i].name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// lookupName returns the formatted value of one ${name}.
func lookupName(name string, p Params, vars map[string]string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty ${} (write $$ for a literal $)")
	}
	if v, ok := vars[name]; ok {
		return v, nil
	}
	v, ok := p.Lookup(name)
	if !ok {
		return "", unknownName(name, p, vars)
	}
	if _, isMap := asMap(v); isMap {
		return "", fmt.Errorf("${%s} is a section, not a value: name one of its keys (%s)", name, keysUnder(p, name))
	}
	return formatValue(v), nil
}

// lookupFlag fills ${name?TEXT} and ${name?TEXT:ELSE}, the way a command
// passes an optional flag: a param that is true gives TEXT, false gives
// ELSE (or nothing), null gives nothing, and any other value gives TEXT
// followed by the value (after a space, or right after a TEXT that ends in
// =). So ${train.resume?--resume} passes a store_true flag,
// ${train.amp?--amp:--no-amp} a BooleanOptionalAction, and
// ${train.resume_from?--resume-from} an option whose default is None.
// flag is TEXT or ELSE, written as it is (the template's own text, parsed
// as shell like the rest), with the separator; when hasValue, the caller
// adds val as a placeholder after it, quoted for where it stands.
func lookupFlag(name, text string, p Params, vars map[string]string) (flag, val string, hasValue bool, err error) {
	then, otherwise, _ := strings.Cut(text, ":")
	if strings.TrimSpace(then) == "" {
		return "", "", false, fmt.Errorf("${%s?%s}: no flag after ? (write ${%s?--flag})", name, text, name)
	}
	if _, isVar := vars[name]; isVar {
		return "", "", false, fmt.Errorf("${%s?%s}: ? takes a param, and %s is not one", name, text, name)
	}
	v, ok := p.Lookup(name)
	if !ok {
		return "", "", false, unknownName(name, p, vars)
	}
	switch t := v.(type) {
	case bool:
		if t {
			return then, "", false, nil
		}
		return otherwise, "", false, nil
	case nil:
		return "", "", false, nil
	}
	if _, isMap := asMap(v); isMap {
		return "", "", false, fmt.Errorf("${%s?...}: %s is a section, not a value", name, name)
	}
	if strings.HasSuffix(then, "=") {
		return then, formatValue(v), true, nil
	}
	return then + " ", formatValue(v), true, nil
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
