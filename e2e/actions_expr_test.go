package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
)

// GitHub Actions expressions (${{ ... }}), parsed with actionlint's parser
// and evaluated here over the contexts a step sees: inputs, github, env,
// matrix, steps, needs, runner, vars, secrets. Values are what JSON
// decodes to (string, float64, bool, nil, map[string]any, []any).

// exprContext is what an expression can read, and the job's status for
// success(), failure() and always().
type exprContext struct {
	vars   map[string]any // context name → value
	failed bool           // a step or needed job failed
}

// eval evaluates one expression, written with or without ${{ }}.
func (c *exprContext) eval(src string) (any, error) {
	src = strings.TrimSpace(src)
	src = strings.TrimSuffix(strings.TrimPrefix(src, "${{"), "}}")
	node, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
	if err != nil {
		return nil, fmt.Errorf("parse %q: %s", src, err.Message)
	}
	return c.node(node)
}

// interpolate replaces every ${{ ... }} in s by its value as text.
func (c *exprContext) interpolate(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("unterminated ${{ in %q", s)
		}
		v, err := c.eval(s[i : i+j+2])
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.WriteString(text(v))
		s = s[i+j+2:]
	}
}

// condition evaluates an if: (default success()).
func (c *exprContext) condition(src string) (bool, error) {
	if strings.TrimSpace(src) == "" {
		return !c.failed, nil
	}
	v, err := c.eval(src)
	if err != nil {
		return false, err
	}
	// A condition that calls none of the status functions has success() in front.
	if !strings.Contains(src, "always()") && !strings.Contains(src, "failure()") && !strings.Contains(src, "cancelled()") && c.failed {
		return false, nil
	}
	return truthy(v), nil
}

func (c *exprContext) node(n actionlint.ExprNode) (any, error) {
	switch n := n.(type) {
	case *actionlint.VariableNode:
		return c.vars[strings.ToLower(n.Name)], nil
	case *actionlint.NullNode:
		return nil, nil
	case *actionlint.BoolNode:
		return n.Value, nil
	case *actionlint.IntNode:
		return float64(n.Value), nil
	case *actionlint.FloatNode:
		return n.Value, nil
	case *actionlint.StringNode:
		return n.Value, nil
	case *actionlint.ObjectDerefNode:
		recv, err := c.node(n.Receiver)
		if err != nil {
			return nil, err
		}
		return property(recv, n.Property), nil
	case *actionlint.IndexAccessNode:
		recv, err := c.node(n.Operand)
		if err != nil {
			return nil, err
		}
		idx, err := c.node(n.Index)
		if err != nil {
			return nil, err
		}
		if list, ok := recv.([]any); ok {
			if f, ok := idx.(float64); ok && int(f) >= 0 && int(f) < len(list) {
				return list[int(f)], nil
			}
			return nil, nil
		}
		return property(recv, text(idx)), nil
	case *actionlint.NotOpNode:
		v, err := c.node(n.Operand)
		return !truthy(v), err
	case *actionlint.LogicalOpNode:
		l, err := c.node(n.Left)
		if err != nil {
			return nil, err
		}
		if (n.Kind == actionlint.LogicalOpNodeKindAnd) != truthy(l) {
			return l, nil // && stops at a falsy left side, || at a truthy one
		}
		return c.node(n.Right)
	case *actionlint.CompareOpNode:
		l, err := c.node(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := c.node(n.Right)
		if err != nil {
			return nil, err
		}
		return compare(n.Kind, l, r), nil
	case *actionlint.FuncCallNode:
		return c.call(n)
	}
	return nil, fmt.Errorf("unsupported expression %T", n)
}

func (c *exprContext) call(n *actionlint.FuncCallNode) (any, error) {
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		v, err := c.node(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	arg := func(i int) string {
		if i < len(args) {
			return text(args[i])
		}
		return ""
	}
	switch strings.ToLower(n.Callee) {
	case "always":
		return true, nil
	case "success":
		return !c.failed, nil
	case "failure":
		return c.failed, nil
	case "cancelled":
		return false, nil
	case "fromjson":
		var v any
		if err := json.Unmarshal([]byte(arg(0)), &v); err != nil {
			return nil, fmt.Errorf("fromJSON(%q): %w", arg(0), err)
		}
		return v, nil
	case "tojson":
		b, err := json.Marshal(args[0])
		return string(b), err
	case "contains":
		if list, ok := args[0].([]any); ok {
			for _, x := range list {
				if compare(actionlint.CompareOpNodeKindEq, x, args[1]) == true {
					return true, nil
				}
			}
			return false, nil
		}
		return strings.Contains(strings.ToLower(arg(0)), strings.ToLower(arg(1))), nil
	case "startswith":
		return strings.HasPrefix(strings.ToLower(arg(0)), strings.ToLower(arg(1))), nil
	case "endswith":
		return strings.HasSuffix(strings.ToLower(arg(0)), strings.ToLower(arg(1))), nil
	case "format":
		s := arg(0)
		for i := 1; i < len(args); i++ {
			s = strings.ReplaceAll(s, "{"+strconv.Itoa(i-1)+"}", arg(i))
		}
		return s, nil
	case "join":
		list, _ := args[0].([]any)
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = text(x)
		}
		sep := ","
		if len(args) > 1 {
			sep = arg(1)
		}
		return strings.Join(parts, sep), nil
	case "hashfiles":
		// Only cache keys use it, and the cache is a no-op here.
		return "hash-of-" + filepath.Base(arg(0)), nil
	}
	return nil, fmt.Errorf("unsupported function %s()", n.Callee)
}

// property reads a field of an object, case-insensitively as GitHub does.
func property(v any, name string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if x, ok := m[name]; ok {
		return x
	}
	for k, x := range m {
		if strings.EqualFold(k, name) {
			return x
		}
	}
	return nil
}

// truthy is GitHub's coercion to a boolean.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0 && !math.IsNaN(v)
	case string:
		return v != ""
	}
	return true
}

// compare is GitHub's loose comparison: strings case-insensitively, mixed
// types as numbers.
func compare(kind actionlint.CompareOpNodeKind, l, r any) any {
	ls, lok := l.(string)
	rs, rok := r.(string)
	var c int
	switch {
	case lok && rok:
		c = strings.Compare(strings.ToLower(ls), strings.ToLower(rs))
	default:
		a, b := number(l), number(r)
		switch {
		case math.IsNaN(a) || math.IsNaN(b):
			return kind == actionlint.CompareOpNodeKindNotEq
		case a < b:
			c = -1
		case a > b:
			c = 1
		}
	}
	switch kind {
	case actionlint.CompareOpNodeKindEq:
		return c == 0
	case actionlint.CompareOpNodeKindNotEq:
		return c != 0
	case actionlint.CompareOpNodeKindLess:
		return c < 0
	case actionlint.CompareOpNodeKindLessEq:
		return c <= 0
	case actionlint.CompareOpNodeKindGreater:
		return c > 0
	case actionlint.CompareOpNodeKindGreaterEq:
		return c >= 0
	}
	return false
}

func number(v any) float64 {
	switch v := v.(type) {
	case nil:
		return 0
	case bool:
		if v {
			return 1
		}
		return 0
	case float64:
		return v
	case string:
		if strings.TrimSpace(v) == "" {
			return 0
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// text is a value as ${{ }} writes it into a string.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
