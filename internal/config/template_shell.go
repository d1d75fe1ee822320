package config

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// A command template is parsed as a shell command with each placeholder
// replaced by its sentinel, and the syntax tree says where each one stands:
// the quoting around it, whether it is in arithmetic or a here-document, and
// whether the word that holds it is a script that a shell reads again
// (sh -c, eval, trap). Each value is then written as the word that, read
// there, gives the value back and nothing else.

// maxNesting bounds how deep scripts inside scripts (sh -c "sh -c '...'")
// are followed.
const maxNesting = 4

// shellWords returns the text that replaces each hole's sentinel.
func (t *template) shellWords() ([]string, error) {
	values := make([]string, len(t.holes))
	for i, h := range t.holes {
		values[i] = h.value
	}
	repl, err := t.script(t.text, 0, values)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(t.holes))
	for i := range t.holes {
		r, ok := repl[i]
		if !ok {
			return nil, t.errorAt(i, "it is in a shell comment, or where the shell reads no word; move it into the command or remove it")
		}
		out[i] = r
	}
	return out, nil
}

// script parses src (the template's text, or at depth > 0 the script of an
// sh -c inside it) and returns the replacement of each hole found in it.
func (t *template) script(src string, depth int, values []string) (map[int]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, t.syntaxError(err, depth)
	}
	w := &walker{t: t, src: src, depth: depth, values: values, repl: map[int]string{}}
	syntax.Walk(f, w.visit)
	return w.repl, w.err
}

// errInnerSyntax is a script for sh -c that does not parse.
var errInnerSyntax = errors.New("not valid shell syntax")

func (t *template) syntaxError(err error, depth int) error {
	if depth > 0 {
		return fmt.Errorf("%w: %v", errInnerSyntax, err)
	}
	var pe syntax.ParseError
	var le syntax.LangError
	var pos syntax.Pos
	msg := err.Error()
	switch {
	case errors.As(err, &pe):
		pos, msg = pe.Pos, pe.Text
	case errors.As(err, &le):
		pos, msg = le.Pos, strings.TrimPrefix(err.Error(), le.Pos.String()+": ")
	}
	line, col := t.lineCol(t.origOffset(int(pos.Offset())))
	e := &TemplateError{Line: line, Col: col, Msg: msg}
	for _, h := range t.holes {
		if strings.Contains(e.Msg, h.sentinel) {
			e.Name = cmp.Or(e.Name, h.name)
			e.Msg = strings.ReplaceAll(e.Msg, h.sentinel, "${"+h.name+"}")
		}
	}
	return e
}

// walker visits a parsed script, keeping the path from the root.
type walker struct {
	t      *template
	src    string
	depth  int
	values []string
	repl   map[int]string
	stack  []syntax.Node
	err    error
}

func (w *walker) visit(n syntax.Node) bool {
	if n == nil {
		w.stack = w.stack[:len(w.stack)-1]
		return true
	}
	if w.err != nil {
		return false
	}
	switch n := n.(type) {
	case *syntax.CallExpr:
		if w.call(n) {
			return false
		}
	case *syntax.Lit:
		w.word(n, n.Value)
	case *syntax.SglQuoted:
		w.word(n, n.Value)
	}
	w.stack = append(w.stack, n)
	return true
}

// holesIn lists the holes whose sentinel s holds.
func (w *walker) holesIn(s string) []int {
	var out []int
	for i, h := range w.t.holes {
		if strings.Contains(s, h.sentinel) {
			out = append(out, i)
		}
	}
	return out
}

// text is the source of n.
func (w *walker) text(n syntax.Node) string {
	return w.src[n.Pos().Offset():n.End().Offset()]
}

// word quotes the holes of a literal or single-quoted part for where it
// stands.
func (w *walker) word(n syntax.Node, value string) {
	for _, i := range w.holesIn(value) {
		q, delims, why := w.context(n)
		if q != singleQuoted && q != quotedHereDoc && afterBackslash(value, w.t.holes[i].sentinel) {
			why = "it follows a backslash, which would escape the first character of its value: move the backslash, or quote it ('\\')"
		}
		if why == "" {
			var r string
			if r, why = quoteFor(q, w.values[i]); why == "" {
				why = endsHereDoc(w.values[i], delims)
			}
			if q == unquoted && r == w.values[i] && w.beforeRedirect(n) {
				r = "'" + r + "'" // digits right before < or > would be read as a file descriptor
			}
			if q == unquoted && strings.HasSuffix(r, "'") && followedBy(value, w.t.holes[i].sentinel, '#') {
				// The shell reads 'v'# as one word, but mvdan's parser (and
				// so this walker, on a script run again) takes the # for a
				// comment inside (...) or $(...). An escaped \# is the same
				// character to every shell and to the parser.
				r += `\`
			}
			w.repl[i] = r
		}
		if why != "" {
			w.fail(w.t.errorAt(i, "%s", why))
			return
		}
	}
}

// afterBackslash reports whether sentinel follows an odd number of
// backslashes in the literal value: the shell would read the first
// character of what replaces it as escaped.
func afterBackslash(value, sentinel string) bool {
	i := strings.Index(value, sentinel)
	n := 0
	for i-n-1 >= 0 && value[i-n-1] == '\\' {
		n++
	}
	return n%2 == 1
}

// followedBy reports whether c comes right after sentinel in the literal
// value.
func followedBy(value, sentinel string, c byte) bool {
	i := strings.Index(value, sentinel) + len(sentinel)
	return i >= len(sentinel) && i < len(value) && value[i] == c
}

// beforeRedirect reports whether a redirection operator follows n at once.
func (w *walker) beforeRedirect(n syntax.Node) bool {
	end := int(n.End().Offset())
	return end < len(w.src) && (w.src[end] == '<' || w.src[end] == '>')
}

func (w *walker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// context says how a value must be written where n (a literal or a
// single-quoted part, whose ancestors are the stack) stands; delims are the
// delimiters of the here-documents around it, which a value must not hold
// (nor a line break), or it could end one early; why, when set, says why no
// value can stand there.
func (w *walker) context(n syntax.Node) (q quoting, delims []string, why string) {
	switch p := w.stack[len(w.stack)-1].(type) {
	case *syntax.Word, *syntax.DblQuoted:
	case *syntax.ParamExp:
		if p.Short {
			return 0, nil, "it follows a $NAME directly, so the shell would read one longer variable name; write $${NAME} before it"
		}
		return 0, nil, "it stands inside a shell parameter expansion ($${...}), where its value would be read as a name or a pattern; set a variable to it first"
	default:
		return 0, nil, "it stands where the shell expects a name (of a variable, a function or a loop, a file descriptor, a here-document's delimiter), where no value can be made safe"
	}
	set := false
	if sq, ok := n.(*syntax.SglQuoted); ok {
		q, set = singleQuoted, true
		if sq.Dollar {
			q = dollarQuoted
		}
	}
	bounded := false // past the statement around n: only backquotes and here-documents matter there
	for i := len(w.stack) - 1; i >= 0; i-- {
		switch a := w.stack[i].(type) {
		case *syntax.CmdSubst:
			if a.Backquotes {
				return 0, nil, "it stands inside `...` backquotes, where backslashes are read twice and no quoting of a value is safe; write $(...) instead"
			}
			bounded = true
		case *syntax.ProcSubst, *syntax.Stmt:
			bounded = true
		case *syntax.DblQuoted:
			if !set && !bounded {
				q, set = doubleQuoted, true
			}
		case *syntax.ParamExp:
			if !bounded {
				return 0, nil, "it stands inside a shell parameter expansion ($${...}), where its value would be read as a name or a pattern; set a variable to it first"
			}
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause, *syntax.CStyleLoop:
			if !bounded {
				q, set = arithmetic, true
			}
		case *syntax.BinaryTest:
			if !bounded && arithmeticTest(a.Op) {
				q, set = arithmetic, true
			}
		case *syntax.Redirect:
			child := w.stack[i+1]
			switch {
			case a.Hdoc != nil && child == syntax.Node(a.Hdoc):
				delim, _ := w.literal(a.Word)
				delims = append(delims, delim)
				if !bounded {
					q, set = hereDoc, true
					if quotedWord(a.Word) {
						q = quotedHereDoc
					}
				}
			case (a.Op == syntax.Hdoc || a.Op == syntax.DashHdoc) && child == syntax.Node(a.Word):
				return 0, nil, "it stands in a here-document's delimiter, where no value can be made safe"
			}
		}
	}
	return q, delims, ""
}

// endsHereDoc says why value cannot stand inside here-documents ending at
// delims, or "".
func endsHereDoc(value string, delims []string) string {
	if len(delims) == 0 {
		return ""
	}
	if strings.ContainsAny(value, "\n\r") {
		return "its value holds a line break, inside a here-document that it could end early"
	}
	for _, d := range delims {
		if d != "" && strings.Contains(value, d) {
			return fmt.Sprintf("its value holds %q, the delimiter of the here-document around it, which it could end early", d)
		}
	}
	return ""
}

func arithmeticTest(op syntax.BinTestOperator) bool {
	switch op {
	case syntax.TsEql, syntax.TsNeq, syntax.TsLeq, syntax.TsGeq, syntax.TsLss, syntax.TsGtr:
		return true
	}
	return false
}

// quotedWord reports whether a here-document's delimiter is quoted, which
// turns expansion off in its body.
func quotedWord(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.SglQuoted, *syntax.DblQuoted:
			return true
		case *syntax.Lit:
			if strings.Contains(p.Value, `\`) {
				return true
			}
		}
	}
	return false
}

// call handles a command whose arguments are read again as code: the
// script of a shell's -c, eval's arguments, trap's action, an
// interpreter's -c/-e code. It returns true when it handled the whole
// command.
func (w *walker) call(c *syntax.CallExpr) bool {
	idx, prog := w.reparsed(c.Args)
	var holes []int
	for _, k := range idx {
		holes = append(holes, w.holesIn(w.text(c.Args[k]))...)
	}
	if len(holes) == 0 {
		return false
	}
	if !isShell(prog) {
		w.fail(w.t.errorAt(holes[0], "it stands in the code that %s runs, which would read its value as code; pass the value as an argument after the code and read it there (sys.argv, ARGV, process.argv)", prog))
		return true
	}
	if w.depth >= maxNesting {
		w.fail(w.t.errorAt(holes[0], "it is nested in more than %d scripts that a shell reads again", maxNesting))
		return true
	}
	w.stack = append(w.stack, c)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	var inner strings.Builder
	outer := map[int]quoting{}
	delims := map[int][]string{}
	for j, k := range idx {
		if j > 0 {
			inner.WriteByte(' ')
		}
		inner.WriteString(w.innerText(c.Args[k], outer, delims, prog))
	}
	if w.err != nil {
		return true
	}
	repl, err := w.t.script(inner.String(), w.depth+1, w.values)
	if errors.Is(err, errInnerSyntax) {
		err = w.t.errorAt(holes[0], "it stands in the script that %s runs again, which is %v", prog, err)
	}
	if err != nil {
		w.fail(err)
		return true
	}
	for i, q := range outer {
		r, ok := repl[i]
		if !ok {
			w.fail(w.t.errorAt(i, "it is in a comment of the script that %s runs, or where that shell reads no word", prog))
			return true
		}
		r, why := quoteFor(q, r)
		if why == "" {
			why = endsHereDoc(w.values[i], delims[i])
		}
		if why != "" {
			w.fail(w.t.errorAt(i, "%s", why))
			return true
		}
		w.repl[i] = r
	}
	for _, a := range c.Assigns {
		syntax.Walk(a, w.visit)
	}
	for k, a := range c.Args {
		if !contains(idx, k) {
			syntax.Walk(a, w.visit)
		}
	}
	return true
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// innerText is what the shell passes on of word: its literal parts
// unquoted, "_" for an expansion (whose value is not a placeholder's). It
// records how each hole in it is quoted on the outside.
func (w *walker) innerText(word *syntax.Word, outer map[int]quoting, delims map[int][]string, prog string) string {
	w.stack = append(w.stack, word)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	var b strings.Builder
	mark := func(n syntax.Node, value string) {
		for _, i := range w.holesIn(value) {
			q, d, why := w.context(n)
			if why != "" {
				w.fail(w.t.errorAt(i, "%s", why))
			}
			outer[i], delims[i] = q, d
		}
	}
	opaque := func(n syntax.Node) {
		if h := w.holesIn(w.text(n)); len(h) > 0 {
			w.fail(w.t.errorAt(h[0], "it stands in an expansion whose output %s reads again as code; put it in the script directly", prog))
		}
		b.WriteString("_")
	}
	for _, part := range word.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			mark(p, p.Value)
			b.WriteString(unescapeUnquoted(p.Value))
		case *syntax.SglQuoted:
			if p.Dollar {
				opaque(p)
				continue
			}
			mark(p, p.Value)
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			w.stack = append(w.stack, p)
			for _, dp := range p.Parts {
				if lit, ok := dp.(*syntax.Lit); ok {
					mark(lit, lit.Value)
					b.WriteString(unescapeDouble(lit.Value))
				} else {
					opaque(dp)
				}
			}
			w.stack = w.stack[:len(w.stack)-1]
		default:
			opaque(p)
		}
	}
	return b.String()
}
