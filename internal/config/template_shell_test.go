package config

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mvdan.cc/sh/v3/syntax"
)

// payloads would each create the file "pwned" in the working directory if a
// shell ran them as code where a template put them.
var payloads = []string{
	"$(touch pwned)",
	"`touch pwned`",
	"'; touch pwned; '",
	`"; touch pwned; "`,
	`\"; touch pwned #`,
	"x\ntouch pwned\n",
	"EOF\ntouch pwned\nEOF",
	`\'; touch pwned; \'`,
	"$(touch pwned)'\"`touch pwned`\"'",
	"a b\t*",
	"EOF",
	"=",
	"2",
}

// TestExpandQuotingContexts runs every quoting context a placeholder can
// stand in with /bin/sh for real, with values that would create a file if
// they ran as code: either the command prints the value back intact and
// creates nothing, or the template is refused with the placeholder's
// column.
func TestExpandQuotingContexts(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	tests := []struct {
		name, tmpl string
		want       func(v string) string // what the command prints; nil: the template is refused
		refuse     string                // the refusal's message, for want == nil
		lineBreaks bool                  // values with a line break are refused (here-documents)
		numbers    bool                  // only numbers are taken (arithmetic)
	}{
		{name: "Unquoted", tmpl: `printf '%s' ${train.v}`, want: same},
		{name: "UnquotedInWord", tmpl: `printf '%s' pre${train.v}post`, want: func(v string) string { return "pre" + v + "post" }},
		{name: "DoubleQuoted", tmpl: `printf '%s' "${train.v}"`, want: same},
		{name: "DoubleQuotedWithText", tmpl: `printf '%s' "a ${train.v} b"`, want: func(v string) string { return "a " + v + " b" }},
		{name: "SingleQuoted", tmpl: `printf '%s' '${train.v}'`, want: same},
		{name: "SingleQuotedWithText", tmpl: `printf '%s' 'a ${train.v} b'`, want: func(v string) string { return "a " + v + " b" }},
		{name: "Assignment", tmpl: `X=${train.v}; printf '%s' "$X"`, want: same},
		{name: "AssignmentPrefix", tmpl: `X=${train.v} sh -c 'printf "%s" "$X"'`, want: same},
		{name: "Export", tmpl: `export X="${train.v}"; printf '%s' "$X"`, want: same},
		{name: "CommandSubstitution", tmpl: `printf '%s' "$(printf '%s' ${train.v})"`, want: func(v string) string { return strings.TrimRight(v, "\n") }},
		{name: "CasePattern", tmpl: `case "${train.v}" in ${train.v}) printf '%s' matched;; esac`, want: func(string) string { return "matched" }},
		{name: "HereDoc", tmpl: "cat <<EOF\n${train.v}\nEOF", want: func(v string) string { return v + "\n" }, lineBreaks: true},
		{name: "QuotedHereDoc", tmpl: "cat <<'EOF'\n${train.v}\nEOF", want: func(v string) string { return v + "\n" }, lineBreaks: true},
		{name: "HereDocEndedEarly", tmpl: "cat <<EOF\n${train.v}\ntouch pwned\nEOF", want: func(v string) string { return v + "\ntouch pwned\n" }, lineBreaks: true},
		{name: "CommandSubstitutionInHereDoc", tmpl: `cat <<EOF
$(printf '%s' ${train.v})
EOF`, want: func(v string) string { return strings.TrimRight(v, "\n") + "\n" }, lineBreaks: true},
		{name: "ShDashCDoubleQuoted", tmpl: `sh -c "printf '%s' ${train.v}"`, want: same},
		{name: "ShDashCSingleQuoted", tmpl: `sh -c 'printf "%s" ${train.v}'`, want: same},
		{name: "ShDashCInnerDoubleQuotes", tmpl: `sh -c "printf '%s' \"${train.v}\""`, want: same},
		{name: "ShDashCInnerSingleQuotes", tmpl: `sh -c "printf '%s' '${train.v}'"`, want: same},
		{name: "ShDashECFlags", tmpl: `sh -ec "printf '%s' ${train.v}"`, want: same},
		{name: "ShDashCNested", tmpl: `sh -c "sh -c 'printf %s ${train.v}'"`, want: same},
		{name: "EnvShDashC", tmpl: `env A=1 sh -c "printf '%s' ${train.v}"`, want: same},
		{name: "BashDashC", tmpl: `bash -c "printf '%s' ${train.v}"`, want: same},
		{name: "Eval", tmpl: `eval "printf '%s' ${train.v}"`, want: same},
		{name: "Trap", tmpl: `trap "printf '%s' ${train.v}" EXIT`, want: same},
		{name: "ShDashCPositional", tmpl: `sh -c 'printf "%s" "$1"' _ ${train.v}`, want: same},
		{name: "Arithmetic", tmpl: `echo $(( ${train.v} + 1 ))`, refuse: "shell arithmetic", numbers: true,
			want: func(v string) string { n, _ := strconv.Atoi(v); return strconv.Itoa(n+1) + "\n" }},
		{name: "Backquotes", tmpl: "echo `echo ${train.v}`", refuse: "backquotes"},
		{name: "ParameterExpansion", tmpl: `echo $${X:-${train.v}}`, refuse: "parameter expansion"},
		{name: "AfterDollarName", tmpl: `echo $$HOME${train.v}`, refuse: "longer variable name"},
		{name: "Comment", tmpl: `echo hi # ${train.v}`, refuse: "comment"},
		{name: "DollarSingleQuoted", tmpl: `printf '%s' $'${train.v}'`, refuse: "$'...'"},
		{name: "HereDocDelimiter", tmpl: "cat <<${train.v}\nx\n${train.v}", refuse: "here-document"},
		{name: "PythonDashC", tmpl: `python3 -c "print('${train.v}')"`, refuse: "the code that python3 -c runs"},
		{name: "PythonPlaceholderDashC", tmpl: `${python} -c "print('${train.v}')"`, refuse: "the code that python -c runs"},
		{name: "ShDashCThroughExpansion", tmpl: `sh -c "echo $(echo ${train.v})"`, refuse: "reads again as code"},
		{name: "VariableName", tmpl: `${train.v}=1 true`, refuse: "expects a name"},
		{name: "AfterBackslash", tmpl: `printf '%s' \${train.v}`, refuse: "follows a backslash"},
		{name: "AfterBackslashInDoubleQuotes", tmpl: `printf '%s' "\${train.v}"`, refuse: "follows a backslash"},
		{name: "GluedToAName", tmpl: `eval "printf '%s' A${train.v}"`, want: func(v string) string { return "A" + v }},
		{name: "BeforeARedirection", tmpl: `printf '%s' ${train.v}>out; cat out`, want: same},
		{name: "BeforeAHash", tmpl: `printf '%s' ${train.v}#`, want: hashed},
		{name: "BeforeAHashInASubshell", tmpl: `(printf '%s' ${train.v}#)`, want: hashed},
		{name: "BeforeAHashInCommandSubstitution", tmpl: `printf '%s' "$(printf '%s' ${train.v}#)"`, want: func(v string) string { return v + "#" }},
		{name: "BeforeAHashInShDashC", tmpl: `sh -c "(printf '%s' ${train.v}#)"`, want: hashed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range payloads {
				p := Params{"train": map[string]any{"v": v}}
				line, err := Expand(tt.tmpl, p, map[string]string{"python": "/usr/bin/python3"})
				if tt.want == nil || (tt.lineBreaks && strings.ContainsAny(v, "\n")) || (tt.lineBreaks && strings.Contains(v, "EOF")) || (tt.numbers && !numeral.MatchString(v)) {
					var te *TemplateError
					require.ErrorAs(t, err, &te, "Expand(%q) with %q: want a refusal, got %q", tt.tmpl, v, line)
					assert.Equal(t, "train.v", te.Name)
					assert.Positive(t, te.Col)
					assert.Contains(t, err.Error(), "${train.v} at ")
					if tt.refuse != "" && !tt.lineBreaks && tt.want == nil || tt.numbers {
						assert.Contains(t, err.Error(), tt.refuse)
					}
					continue
				}
				require.NoError(t, err, "Expand(%q) with %q", tt.tmpl, v)
				out, pwned := runSh(t, line)
				assert.False(t, pwned, "%q with %q ran as code: %s", tt.tmpl, v, line)
				assert.Equal(t, tt.want(v), out, "%q with %q: %s", tt.tmpl, v, line)
			}
		})
	}
}

func same(v string) string   { return v }
func hashed(v string) string { return v + "#" }

// TestExpandBeforeAHashParses: mvdan's parser reads 'v'# inside (...) as a
// word and a comment (a shell reads one word), so a quoted value before a #
// ends with an escape that both read alike; the fuzzer found the case.
func TestExpandBeforeAHashParses(t *testing.T) {
	for _, tmpl := range []string{`"$(${train.v}#)"0`, `(echo ${train.v}#)`, `cat <(echo ${train.v}#)`, `sh -c "(echo ${train.v}#)"`} {
		for _, v := range []string{" ", "", "a'b", "x\ny"} {
			line, err := Expand(tmpl, Params{"train": map[string]any{"v": v}}, nil)
			require.NoError(t, err)
			_, err = shape(line, 0)
			assert.NoError(t, err, "%q with %q: %s", tmpl, v, line)
		}
	}
}

// runSh runs line with /bin/sh in a fresh directory and reports its stdout
// and whether it created the file "pwned".
func runSh(t *testing.T, line string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "sh -c %q: %s", line, errOut.String())
	_, err := os.Stat(filepath.Join(dir, "pwned"))
	return out.String(), err == nil
}

func TestExpandArithmeticTakesNumbers(t *testing.T) {
	line, err := Expand(`echo $(( ${train.n} + 1 ))`, Params{"train": map[string]any{"n": 41}}, nil)
	require.NoError(t, err)
	out, _ := runSh(t, line)
	assert.Equal(t, "42\n", out)
}

func TestExpandSyntaxErrorColumn(t *testing.T) {
	_, err := Expand(`echo ${train.v} "unterminated`, Params{"train": map[string]any{"v": "a-long-value"}}, nil)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "", te.Name)
	assert.Equal(t, 17, te.Col, "the column in the template, not in the text with sentinels: %v", err)
	assert.Contains(t, err.Error(), "not a valid shell command at column 17")
}

func TestStageCommandNamesTheTemplate(t *testing.T) {
	s := Stage{Name: "train", Cmd: "echo `echo ${train.v}`", CmdPos: Pos{File: "experiments/x.yaml", Line: 5, Col: 10}}
	_, err := s.Command(Params{"train": map[string]any{"v": "x"}}, nil)
	require.Error(t, err)
	assert.Equal(t, "experiments/x.yaml:5:10: stages.train.cmd: ${train.v} at column 12 of the command: it stands inside `...` backquotes, where backslashes are read twice and no quoting of a value is safe; write $(...) instead", err.Error())
}

// FuzzExpandShell checks that a value never changes the shape of the
// command it is put into: the expansion with a fuzzed value parses to the
// same statements, commands, arguments and expansions (scripts of sh -c
// included) as with a plain value. A value that changed them would run as
// code.
func FuzzExpandShell(f *testing.F) {
	for _, tmpl := range []string{`printf '%s' ${train.v}`, `printf '%s' "${train.v}"`, `printf '%s' '${train.v}'`,
		`X=${train.v} sh -c 'echo "$X"'`, "cat <<EOF\n${train.v}\nEOF", `sh -c "echo ${train.v}"`, `sh -c 'echo ${train.v}'`,
		`sh -c "sh -c 'echo ${train.v}'"`, `eval "echo ${train.v}"`, `echo "$(echo ${train.v})" > ${out}/x`, `echo $(( ${train.v} ))`} {
		for _, v := range payloads {
			f.Add(tmpl, v)
		}
	}
	f.Fuzz(func(t *testing.T, tmpl, v string) {
		if !strings.Contains(tmpl, "${train.v}") || !utf8.ValidString(tmpl+v) || strings.ContainsRune(tmpl+v, 0) {
			return // the parser takes UTF-8 only, and no argument holds a NUL
		}
		if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
			// A leading - or + can make a program read a value as an option
			// ("sh -c -x", "git log --output=x"): quoting cannot prevent that,
			// and the template author decides what an argument may be.
			return
		}
		vars := map[string]string{"out": "/runs/x/out"}
		plain, err := Expand(tmpl, Params{"train": map[string]any{"v": "1"}}, vars)
		if err != nil {
			return
		}
		fuzzed, err := Expand(tmpl, Params{"train": map[string]any{"v": v}}, vars)
		if err != nil {
			return // refused: safe
		}
		want, err := shape(plain, 0)
		if err != nil {
			return // the plain expansion is no shell either (a template that only sentinels made parse)
		}
		got, err := shape(fuzzed, 0)
		require.NoError(t, err, "the value %q broke the syntax of %q: %s", v, tmpl, fuzzed)
		require.Equal(t, want, got, "the value %q changed the shape of %q: %s", v, tmpl, fuzzed)
	})
}

// shape lists what a shell command is made of, leaving out literal text and
// quoting: the statements, commands and their argument counts, and the
// expansions, with the scripts of sh -c and eval followed.
func shape(cmd string, depth int) ([]string, error) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return nil, err
	}
	var out []string
	var inner []string
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case nil, *syntax.Lit, *syntax.SglQuoted, *syntax.DblQuoted, *syntax.Word:
		case *syntax.CallExpr:
			out = append(out, "call/"+string(rune('0'+min(len(n.Args), 40))))
			if s, ok := reparsedScript(n); ok && depth < maxNesting {
				inner = append(inner, s)
			}
		default:
			out = append(out, fmt.Sprintf("%T", n))
		}
		return true
	})
	for _, s := range inner {
		sub, err := shape(s, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(append(out, "["), append(sub, "]")...)
	}
	return out, nil
}

// reparsedScript is the script of `sh -c SCRIPT` or `eval ARGS`, when
// literal.
func reparsedScript(c *syntax.CallExpr) (string, bool) {
	w := &walker{t: &template{}}
	idx, prog := w.reparsed(c.Args)
	if len(idx) == 0 || !isShell(prog) {
		return "", false
	}
	var parts []string
	for _, k := range idx {
		s, ok := w.literal(c.Args[k])
		if !ok {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " "), true
}
