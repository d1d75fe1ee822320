package query

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWhere(t *testing.T) {
	type c struct{ name, op, value string }
	tests := []struct {
		name  string
		in    string
		want  []c
		error string
	}{
		{"Empty", "  ", nil, ""},
		{"IssueExample", "val_accuracy>0.9 train.lr=0.01 status=finished",
			[]c{{"val_accuracy", ">", "0.9"}, {"train.lr", "=", "0.01"}, {"status", "=", "finished"}}, ""},
		{"SpacesAroundOperator", "val_loss <= 0.5  seed != 3", []c{{"val_loss", "<=", "0.5"}, {"seed", "!=", "3"}}, ""},
		{"DoubleEqualsIsEquals", "status==failed", []c{{"status", "=", "failed"}}, ""},
		{"QuotedValueKeepsSpaces", `experiment="digits mlp" host='gpu 1'`, []c{{"experiment", "=", "digits mlp"}, {"host", "=", "gpu 1"}}, ""},
		{"GlobOperator", "experiment~digits*", []c{{"experiment", "~", "digits*"}}, ""},
		{"ValueMayHoldOperators", "train.note=a=b", []c{{"train.note", "=", "a=b"}}, ""},
		{"PrefixedNames", "metrics.loss<1 params.seed>=2", []c{{"metrics.loss", "<", "1"}, {"params.seed", ">=", "2"}}, ""},
		{"NoValue", "val_accuracy>", nil, `condition "val_accuracy>" has no value`},
		{"NoValueBeforeNextCondition", "seed= ", nil, `condition "seed=" has no value`},
		{"NoOperator", "val_accuracy 0.9", nil, `condition "val_accuracy" has no operator (want name OP value, OP one of = != > >= < <= ~)`},
		{"NoName", "=0.9", nil, `condition "=0.9" has no name before "="`},
		{"UnknownOperator", "val_accuracy=>0.9", nil, `condition "val_accuracy=>0.9" has an unknown operator "=>" (want one of = != > >= < <= ~)`},
		{"BangAlone", "dirty!true", nil, `condition "dirty!true" has an unknown operator "!" (want one of = != > >= < <= ~)`},
		{"UnterminatedQuote", `experiment="digits mlp`, nil, `condition "experiment=\"digits mlp" has an unterminated quote`},
		{"TextAfterQuote", `experiment="a"b c=1`, nil, `condition "experiment=\"a\"b" has text after its closing quote`},
		{"QuoteInName", `"lr"=1`, nil, `condition "\"lr\"=1" has a quote in its name (only values are quoted)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conds, err := ParseWhere(tc.in)
			if tc.error != "" {
				require.EqualError(t, err, tc.error)
				return
			}
			require.NoError(t, err)
			require.Len(t, conds, len(tc.want), "got %d conditions %+v, want %d", len(conds), conds, len(tc.want))
			for i, w := range tc.want {
				g := conds[i]
				assert.Equal(t, w, c{g.Name, g.Op, g.Value}, "condition %d", i)
			}
		})
	}
}

func TestCondMatch(t *testing.T) {
	num := func(f float64) scalar { return scalar{kind: kindNum, num: f} }
	str := func(s string) scalar { return scalar{kind: kindStr, str: []byte(s)} }
	boolean := func(b bool) scalar { return scalar{kind: kindBool, b: b} }
	tests := []struct {
		name string
		cond string
		v    scalar
		want bool
	}{
		{"NumbersCompareNumerically", "lr=1e-2", num(0.01), true},
		{"IntEqualsFloat", "epochs=30", num(30), true},
		{"GreaterThan", "acc>0.9", num(0.95), true},
		{"NotGreaterWhenEqual", "acc>0.9", num(0.9), false},
		{"GreaterOrEqualWhenEqual", "acc>=0.9", num(0.9), true},
		{"LessThan", "loss<0.5", num(0.7), false},
		{"NotEqualNumber", "seed!=3", num(4), true},
		{"TextAgainstNumberNeverEqual", "lr=abc", num(0.01), false},
		{"TextAgainstNumberIsNotEqual", "lr!=abc", num(0.01), true},
		{"QuotedNumberIsText", `lr="0.01"`, num(0.01), false},
		{"TextEquals", "status=finished", str("finished"), true},
		{"TextComparesAsWritten", "sha=1234567", str("1234567"), true},
		{"TextOrdersLexically", "branch>main", str("zeta"), true},
		{"SubstringIgnoresCase", "experiment~MLP", str("digits-mlp"), true},
		{"SubstringMisses", "experiment~cnn", str("digits-mlp"), false},
		{"GlobMatchesWhole", "experiment~dig*mlp", str("digits-mlp"), true},
		{"GlobAnchored", "experiment~igits*", str("digits-mlp"), false},
		{"GlobQuestionMark", "host~gpu-node-0?", str("gpu-node-07"), true},
		{"TildeOnNumberUsesItsText", "lr~0.0", num(0.001), true},
		{"BoolEquals", "dirty=true", boolean(true), true},
		{"BoolNotEquals", "dirty!=true", boolean(false), true},
		{"BoolYAMLSpelling", "dirty=False", boolean(false), true},
		{"BoolHasNoOrder", "dirty>false", boolean(true), false},
		{"MissingMatchesNothing", "acc>0", scalar{}, false},
		{"MissingNotEvenNotEqual", "acc!=1", scalar{}, false},
		{"NullParam", "train.opt=null", scalar{kind: kindNull}, true},
		{"InfIsANumber", "loss<.inf", num(1e300), true},
		{"HexIsANumber", "mask=0x10", num(16), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conds, err := ParseWhere(tc.cond)
			require.NoError(t, err, "ParseWhere(%q) = %v", tc.cond, conds)
			require.Len(t, conds, 1, "ParseWhere(%q) = %v, %v", tc.cond, conds, err)
			got := conds[0].match(tc.v)
			require.Equal(t, tc.want, got, "%s on %+v = %v, want %v", tc.cond, tc.v, got, tc.want)
		})
	}
}

// FuzzWhere checks that the parser never panics, that every condition it
// returns is well formed, and that the conditions as written parse again
// to the same conditions.
func FuzzWhere(f *testing.F) {
	for _, s := range []string{
		"val_accuracy>0.9 train.lr=0.01 status=finished", `experiment="a b" x~'*y?'`, "a=", "=b",
		"a b", "a=>1", `a="`, "metrics.x<=1e-3 params.y!=.inf", "a==b c!=d", "\t a \t=\t b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conds, err := ParseWhere(s)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "condition "), "error without the condition: %v", err)
			return
		}
		texts := make([]string, len(conds))
		for i, c := range conds {
			require.NotEmpty(t, c.Name, "malformed condition %+v from %q", c, s)
			require.True(t, validOp(c.Op), "malformed condition %+v from %q", c, s)
			require.False(t, strings.ContainsAny(c.Name, " \t\r\n\"'=!<>~"), "malformed condition %+v from %q", c, s)
			texts[i] = c.Text
		}
		again, err := ParseWhere(strings.Join(texts, " "))
		require.NoError(t, err, "%q: re-parsing %q", s, texts)
		require.Len(t, again, len(conds), "%q: re-parsing %q: %v, %d conditions, want %d", s, texts, err, len(again), len(conds))
		for i := range conds {
			a, b := conds[i], again[i]
			require.Equal(t, a.Name, b.Name, "%q: condition %d changed on re-parsing: %+v → %+v", s, i, a, b)
			require.Equal(t, a.Op, b.Op, "%q: condition %d changed on re-parsing: %+v → %+v", s, i, a, b)
			require.Equal(t, a.Value, b.Value, "%q: condition %d changed on re-parsing: %+v → %+v", s, i, a, b)
			require.Equal(t, a.val.kind, b.val.kind, "%q: condition %d changed on re-parsing: %+v → %+v", s, i, a, b)
		}
	})
}
