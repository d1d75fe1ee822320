package query

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Cond is one condition of a -where filter: Name Op Value, e.g.
// val_accuracy>0.9. Name is a field (status, experiment, sweep, id, sha,
// branch, dirty, host, gpu, duration, started, key), or else a metric or param
// name: a run's metrics are looked up first, then its (dotted) params;
// "metrics.NAME" or "params.NAME" picks one. Value is typed like a YAML
// scalar: 0.01 and 1e-2 are the same number, true is a bool, and quotes make
// a string of anything.
type Cond struct {
	Name  string
	Op    string // one of = != > >= < <= ~
	Value string // as written, quotes removed
	Text  string // the condition as written, for messages

	val scalar
}

// Operators a condition may use. ~ matches text: a glob when the value has
// * or ?, else a substring, both ignoring case.
var whereOps = []string{"=", "!=", ">", ">=", "<", "<=", "~"}

const opList = "= != > >= < <= ~"

// WhereError is a malformed -where condition.
type WhereError struct {
	Cond   string // the condition as written
	Reason string
}

func (e *WhereError) Error() string {
	return fmt.Sprintf("condition %q %s", e.Cond, e.Reason)
}

// ParseWhere parses space-separated conditions "name OP value", with or
// without spaces around OP ("val_accuracy>0.9 train.lr = 0.01"). Values
// with spaces are quoted, 'like this' or "like this".
func ParseWhere(s string) ([]Cond, error) {
	var conds []Cond
	p := whereParser{s: s}
	for {
		p.space()
		if p.i >= len(s) {
			return conds, nil
		}
		c, err := p.cond()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
}

type whereParser struct {
	s string
	i int
}

func (p *whereParser) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isOpChar(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' }

func (p *whereParser) cond() (Cond, error) {
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) && !isOpChar(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	if strings.ContainsAny(name, `"'`) {
		return Cond{}, &WhereError{Cond: p.rest(start), Reason: "has a quote in its name (only values are quoted)"}
	}
	p.space()
	opStart := p.i
	for p.i < len(p.s) && isOpChar(p.s[p.i]) {
		p.i++
	}
	op := p.s[opStart:p.i]
	switch {
	case name == "" && op == "":
		return Cond{}, &WhereError{Cond: p.rest(start), Reason: "has no name"}
	case name == "":
		return Cond{}, &WhereError{Cond: p.rest(start), Reason: fmt.Sprintf("has no name before %q", op)}
	case op == "":
		return Cond{}, &WhereError{Cond: name, Reason: "has no operator (want name OP value, OP one of " + opList + ")"}
	}
	if op == "==" {
		op = "="
	}
	if !validOp(op) {
		return Cond{}, &WhereError{Cond: p.rest(start), Reason: fmt.Sprintf("has an unknown operator %q (want one of %s)", op, opList)}
	}
	p.space()
	value, quoted, err := p.value()
	text := strings.TrimRight(p.s[start:p.i], " \t\r\n")
	if err != "" {
		return Cond{}, &WhereError{Cond: text, Reason: err}
	}
	c := Cond{Name: name, Op: op, Value: value, Text: text}
	c.val = typeScalar(value, quoted)
	return c, nil
}

// rest is the condition from start to the next space, for messages.
func (p *whereParser) rest(start int) string {
	end := start
	for end < len(p.s) && !isSpace(p.s[end]) {
		end++
	}
	if end < p.i {
		end = p.i
	}
	return p.s[start:end]
}

func (p *whereParser) value() (v string, quoted bool, err string) {
	if p.i >= len(p.s) {
		return "", false, "has no value"
	}
	if q := p.s[p.i]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			p.i = len(p.s)
			return "", true, "has an unterminated quote"
		}
		v = p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		if p.i < len(p.s) && !isSpace(p.s[p.i]) {
			for p.i < len(p.s) && !isSpace(p.s[p.i]) {
				p.i++
			}
			return "", true, "has text after its closing quote"
		}
		return v, true, ""
	}
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i], false, ""
}

func validOp(op string) bool {
	for _, o := range whereOps {
		if o == op {
			return true
		}
	}
	return false
}

// scalar is a typed value: a condition's value, or a run's field, metric or
// param while a condition is tested on it.
type scalar struct {
	kind kind
	num  float64
	str  []byte // kindStr, and the text of kindOther (JSON of a list or map)
	b    bool
}

type kind uint8

const (
	kindMissing kind = iota
	kindNum
	kindStr
	kindBool
	kindNull
	kindOther
)

// yamlNumber is YAML 1.2's core schema for ints and floats (decimal, 0x,
// 0o, .inf, .nan).
var yamlNumber = regexp.MustCompile(`^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)

// typeScalar types an unquoted value like a YAML scalar.
func typeScalar(v string, quoted bool) scalar {
	text := scalar{kind: kindStr, str: []byte(v)}
	if quoted {
		return text
	}
	switch v {
	case "true", "True", "TRUE":
		return scalar{kind: kindBool, b: true, str: text.str}
	case "false", "False", "FALSE":
		return scalar{kind: kindBool, str: text.str}
	case "null", "Null", "NULL", "~":
		return scalar{kind: kindNull, str: text.str}
	}
	if !yamlNumber.MatchString(v) {
		return text
	}
	return scalar{kind: kindNum, num: yamlFloat(v), str: text.str}
}

func yamlFloat(v string) float64 {
	switch {
	case strings.HasPrefix(v, "0x"):
		n, _ := strconv.ParseUint(v[2:], 16, 64)
		return float64(n)
	case strings.HasPrefix(v, "0o"):
		n, _ := strconv.ParseUint(v[2:], 8, 64)
		return float64(n)
	case strings.HasSuffix(strings.ToLower(v), ".inf"):
		v = strings.TrimSuffix(strings.ToLower(v), ".inf") + "inf"
	case strings.HasPrefix(strings.ToLower(v), ".nan"):
		v = "nan"
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// match tests the condition on a run's value. A run that lacks the value
// matches no condition, not even !=: like SQL's NULL, and like MLflow.
func (c *Cond) match(v scalar) bool {
	if v.kind == kindMissing {
		return false
	}
	if c.Op == "~" {
		return globMatch(c.Value, v.text())
	}
	cmp, ok := c.compare(v)
	if !ok {
		return c.Op == "!="
	}
	switch c.Op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	}
	return false
}

// compare orders the run's value v against the condition's value: numbers
// numerically, text as written (so sha=1234567 compares text), bools and
// nulls by equality only. ok is false when they cannot be compared.
func (c *Cond) compare(v scalar) (int, bool) {
	w := c.val
	switch v.kind {
	case kindNum:
		if w.kind != kindNum || v.num != v.num || w.num != w.num { // NaN
			return 0, false
		}
		switch {
		case v.num < w.num:
			return -1, true
		case v.num > w.num:
			return 1, true
		}
		return 0, true
	case kindStr:
		return bytes.Compare(v.str, w.str), true
	case kindBool:
		if w.kind != kindBool || (c.Op != "=" && c.Op != "!=") {
			return 0, false
		}
		if v.b == w.b {
			return 0, true
		}
		return 1, true
	case kindNull:
		if w.kind != kindNull || (c.Op != "=" && c.Op != "!=") {
			return 0, false
		}
		return 0, true
	case kindOther:
		if c.Op != "=" && c.Op != "!=" {
			return 0, false
		}
		return bytes.Compare(v.str, w.str), true
	}
	return 0, false
}

// text is the value as a string, for ~.
func (v scalar) text() string {
	switch v.kind {
	case kindNum:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(v.b)
	case kindNull:
		return "null"
	}
	return string(v.str)
}

// globMatch reports whether text matches pattern, ignoring case: a glob
// when pattern has * or ?, else a substring.
func globMatch(pattern, text string) bool {
	pattern, text = strings.ToLower(pattern), strings.ToLower(text)
	if !strings.ContainsAny(pattern, "*?") {
		return strings.Contains(text, pattern)
	}
	// Iterative wildcard matching with backtracking to the last star.
	p, t, star, mark := 0, 0, -1, 0
	for t < len(text) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == text[t]):
			p++
			t++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
