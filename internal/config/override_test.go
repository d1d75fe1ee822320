package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSet(t *testing.T) {
	root := testRoot(t, "project")
	tests := []struct {
		name, set string
		key       string // key to check after a successful Set
		want      any
		err       string
	}{
		{name: "ScientificNotation", set: "train.lr=3e-4", key: "train.lr", want: 3e-4},
		{name: "ScientificNotationUpper", set: "train.lr=1E-3", key: "train.lr", want: 1e-3},
		{name: "IntStaysInt", set: "train.epochs=3", key: "train.epochs", want: 3},
		{name: "IntToFloat", set: "train.epochs=2.5", key: "train.epochs", want: 2.5},
		{name: "FloatToInt", set: "train.lr=1", key: "train.lr", want: 1},
		{name: "Bool", set: "preprocess.scale=false", key: "preprocess.scale", want: false},
		{name: "String", set: "data.source=mnist", key: "data.source", want: "mnist"},
		{name: "QuotedWithSpaces", set: `data.source="two words"`, key: "data.source", want: "two words"},
		{name: "SingleQuoted", set: `data.source='a "b"'`, key: "data.source", want: `a "b"`},
		{name: "YAMLQuotedNumberIsString", set: `data.source="'3'"`, key: "data.source", want: "3"},
		{name: "List", set: "train.layers=[128,64,32]", key: "train.layers", want: []any{128, 64, 32}},
		{name: "QuotedListWithSpaces", set: "train.layers='[8, 4]'", key: "train.layers", want: []any{8, 4}},
		{name: "NullTakesAnything", set: "train.note=hello", key: "train.note", want: "hello"},
		{name: "SetNull", set: "train.epochs=null", key: "train.epochs", want: nil},
		{name: "Nested", set: "train.opt.name=sgd", key: "train.opt.name", want: "sgd"},
		{name: "Seed", set: "seed=7", key: "seed", want: 7},
		{name: "SetTwice", set: "train.epochs=1 train.epochs=2", err: "-set: train.epochs is set twice (train.epochs=1 and train.epochs=2): give it once"},
		{name: "SetTwiceSpaced", set: "seed=1 seed=1", err: "-set: seed is set twice (seed=1 and seed=1): give it once"},
		{name: "IntegerTooLarge", set: "train.epochs=99999999999999999999", err: `-set: train.epochs=99999999999999999999: train.epochs: 99999999999999999999 is an integer too large for 64 bits (the largest is 9223372036854775807): write it as a float (99999999999999999999.0) or a string ("99999999999999999999")`},
		{name: "Whitespace", set: "  \ttrain.epochs=4\n ", key: "train.epochs", want: 4},
		{name: "Empty", set: "", key: "train.epochs", want: 30},
		{name: "UnknownOverrideKey", set: "train.lrr=0.1", err: `-set: unknown key "train.lrr" (did you mean "train.lr"?)`},
		{name: "UnknownOverrideKeyFar", set: "model.width=3", err: `-set: unknown key "model.width" (overrides change existing keys; the top-level keys are data, eval, preprocess, seed, train)`},
		{name: "UnknownOverrideKeyInSection", set: "train.opt.momentum=3", err: `-set: unknown key "train.opt.momentum" (train.opt has: train.opt.betas, train.opt.name)`},
		{name: "UnknownSection", set: "trian.lr=1", err: `-set: unknown key "trian.lr" (did you mean "train.lr"?)`},
		{name: "OverrideTypeChange", set: "train.lr=abc", err: `-set: train.lr=abc would change a number (now 0.0003) into a string`},
		{name: "OverrideTypeChangeToNumber", set: "data.source=3", err: `-set: data.source=3 would change a string (now digits) into a number; to pass it as a string quote it for YAML: data.source="'3'"`},
		{name: "OverrideTypeChangeList", set: "train.layers=3", err: `-set: train.layers=3 would change a list (now [64,32]) into a number`},
		{name: "OverrideBoolToString", set: "preprocess.scale=yes", err: `-set: preprocess.scale=yes would change a bool (now true) into a string`},
		{name: "Section", set: "train=1", err: `-set: train is a section: set its keys instead (train.epochs, train.layers, train.lr, train.note, train.opt.betas, train.opt.name)`},
		{name: "SeedNotInt", set: "seed=1.5", err: `-set: seed=1.5: the seed is an integer from 0 to 4294967295`},
		{name: "NoEquals", set: "train.lr", err: `-set: "train.lr" has no "=" (write key=value, e.g. train.lr=0.01)`},
		{name: "EmptyKey", set: "=3", err: `-set: "=3" has an empty key (write key=value, e.g. train.lr=0.01)`},
		{name: "EmptyValue", set: "train.lr=", err: `-set: train.lr has an empty value (write train.lr=null to clear it, train.lr="''" for an empty string)`},
		{name: "UnterminatedQuote", set: `data.source="a b`, err: `-set: unterminated " quote in "data.source=\"a b"`},
		{name: "Mapping", set: "data.source='{a: 1}'", err: `-set: data.source={a: 1}: overrides take a scalar or a [list], found a mapping`},
		{name: "Comment", set: `data.source="a #b"`, err: `-set: data.source=a #b: the value holds a YAML comment (" #"); quote it for YAML: data.source="'a #b'"`},
		{name: "BadYAML", set: "train.layers=[1,", err: `-set: train.layers=[1,: not a YAML value: line 1: did not find expected node content`},
		{name: "NestedList", set: "train.layers=[[1]]", err: `-set: train.layers=[[1]]: train.layers[0]: lists in params hold scalars only, found a list`},
		{name: "NotFinite", set: "train.lr=.nan", err: `-set: train.lr=.nan: train.lr: .nan is not a finite number (params are written as JSON)`},
		{name: "AllOrNothing", set: "train.epochs=5 train.lrr=1", err: `-set: unknown key "train.lrr" (did you mean "train.lr"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustLoad(t, root, "full")
			before := string(e.Params.JSON())
			err := e.Set(tt.set)
			if tt.err != "" {
				require.Equal(t, tt.err, errText(err, root), "Set(%q) error", tt.set)
				assert.Equal(t, before, string(e.Params.JSON()), "a failed Set changed the params")
				assert.Equal(t, 42, e.Seed, "a failed Set changed the seed")
				return
			}
			require.NoError(t, err, "Set(%q)", tt.set)
			got, ok := e.Params.Lookup(tt.key)
			assert.True(t, ok, "after Set(%q): %s = %#v (%v)", tt.set, tt.key, got, ok)
			assert.Equal(t, tt.want, got, "after Set(%q): %s", tt.set, tt.key)
		})
	}
}

func TestSetSeedUpdatesExperiment(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "full")
	require.NoError(t, e.Set("seed=7 train.lr=0.5"))
	assert.Equal(t, 7, e.Seed, "Seed")
}

func TestSetDoesNotShareLoadedMaps(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "full")
	train := e.Params["train"].(map[string]any)
	require.NoError(t, e.Set("train.epochs=1"))
	assert.Equal(t, 30, train["epochs"], "Set modified the previous params map in place")
}

func TestSplitOverrides(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"Spaces", "a=1  b=2", []string{"a=1", "b=2"}},
		{"DoubleQuotes", `a="x y" b=2`, []string{"a=x y", "b=2"}},
		{"SingleQuotes", `a='x "y"'`, []string{`a=x "y"`}},
		{"QuotedWholeItem", `"a=x y"`, []string{"a=x y"}},
		{"Escapes", `a=x\ y b="q\"q"`, []string{"a=x y", `b=q"q`}},
		{"BackslashInSingleQuotes", `a='x\y'`, []string{`a=x\y`}},
		{"EmptyQuoted", `a=""`, []string{"a="}},
		{"Nothing", " \t\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitOverrides(tt.in)
			assert.NoError(t, err, "splitOverrides(%q)", tt.in)
			assert.Equal(t, tt.want, got, "splitOverrides(%q)", tt.in)
		})
	}
}
