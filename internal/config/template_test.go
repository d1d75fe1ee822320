package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	p := Params{
		"seed": 42,
		"train": map[string]any{
			"lr": 3e-4, "epochs": 30, "ratio": 1.0, "tiny": 1e-7, "note": "two words",
			"quote": "it's", "amp": true, "none": nil, "layers": []any{64, 32}, "device": "cuda:0",
			"opt": map[string]any{"name": "adam"},
		},
	}
	vars := map[string]string{"in": "/runs/a b/in", "out": "/runs/x/out", "python": "/p/.venv/bin/python", "run_dir": "/runs/x"}
	tests := []struct {
		name, tmpl, want, err string
	}{
		{name: "Numbers", tmpl: "--lr ${train.lr} --epochs ${train.epochs} --seed ${seed}", want: "--lr 0.0003 --epochs 30 --seed 42"},
		{name: "FloatKeepsPoint", tmpl: "${train.ratio} ${train.tiny}", want: "1.0 1.0e-07"},
		{name: "Vars", tmpl: "${python} train.py --out ${out}/model.pt", want: "/p/.venv/bin/python train.py --out /runs/x/out/model.pt"},
		{name: "QuotedVar", tmpl: "--in ${in}", want: "--in '/runs/a b/in'"},
		{name: "QuotedString", tmpl: "--note ${train.note}", want: "--note 'two words'"},
		{name: "EmbeddedSingleQuote", tmpl: "--q ${train.quote}", want: `--q 'it'\''s'`},
		{name: "SimpleWordUnquoted", tmpl: "--device ${train.device}", want: "--device cuda:0"},
		{name: "Bool", tmpl: "--amp ${train.amp}", want: "--amp true"},
		{name: "Null", tmpl: "--x ${train.none}", want: "--x ''"},
		{name: "List", tmpl: "--layers ${train.layers}", want: "--layers '[64,32]'"},
		{name: "Nested", tmpl: "${train.opt.name}", want: "adam"},
		{name: "Spaces", tmpl: "${ train.epochs }", want: "30"},
		{name: "DollarDollar", tmpl: "echo $${HOME} $$1", want: "echo ${HOME} $1"},
		{name: "LoneDollar", tmpl: "echo $HOME $", want: "echo $HOME $"},
		{name: "NoTemplate", tmpl: "python train.py", want: "python train.py"},
		{name: "UnknownName", tmpl: "--lr ${train.lrr}", err: "unknown name ${train.lrr} (did you mean ${train.lr}?)"},
		{name: "UnknownNameFar", tmpl: "${zzzzzzzz}", err: "unknown name ${zzzzzzzz}: not a param nor one of in, out, python, run_dir (nearest known: ${in}, ${out}, ${python})"},
		{name: "UnknownVar", tmpl: "${run_dr}", err: "unknown name ${run_dr} (did you mean ${run_dir}?)"},
		{name: "Unterminated", tmpl: "--out ${out", err: "unterminated ${ at offset 6 (write $$ for a literal $)"},
		{name: "Empty", tmpl: "${}", err: "empty ${} (write $$ for a literal $)"},
		{name: "Section", tmpl: "${train.opt}", err: "${train.opt} is a section, not a value: name one of its keys (train.opt.name)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.tmpl, p, vars)
			if tt.err != "" {
				require.EqualError(t, err, tt.err, "Expand(%q) error", tt.tmpl)
				return
			}
			assert.NoError(t, err, "Expand(%q)", tt.tmpl)
			assert.Equal(t, tt.want, got, "Expand(%q)", tt.tmpl)
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := map[string]string{
		"":             "''",
		"abc":          "abc",
		"a/b.c:d,ef":   "a/b.c:d,ef",
		"e=f":          "'e=f'",
		"-1.5e-07":     "-1.5e-07",
		"a b":          "'a b'",
		"$HOME":        "'$HOME'",
		"~user":        "'~user'",
		"it's":         `'it'\''s'`,
		"*.py":         "'*.py'",
		"x;rm -rf /":   "'x;rm -rf /'",
		"ünïcode":      "'ünïcode'",
		"line\nbreak":  "'line\nbreak'",
		"back`tick`":   "'back`tick`'",
		`dq"uote`:      `'dq"uote'`,
		"semi;colon":   "'semi;colon'",
		"paren(thes)":  "'paren(thes)'",
		"glob[ab]":     "'glob[ab]'",
		"amp&":         "'amp&'",
		"pipe|":        "'pipe|'",
		"redir>":       "'redir>'",
		"bang!":        "'bang!'",
		"hash#":        "'hash#'",
		"brace{}":      "'brace{}'",
		"question?":    "'question?'",
		"tab\tinside":  "'tab\tinside'",
		"at@percent%+": "at@percent%+",
	}
	for in, want := range tests {
		assert.Equal(t, want, shellQuote(in), "shellQuote(%q)", in)
	}
}

func TestExpandPathDoesNotQuote(t *testing.T) {
	p := Params{"train": map[string]any{"tag": "a b"}}
	got, err := ExpandPath("${out}/${train.tag}/results.json", p, map[string]string{"out": "/runs/x y/out"})
	require.NoError(t, err)
	require.Equal(t, "/runs/x y/out/a b/results.json", got)
	_, err = ExpandPath("${nope}", p, nil)
	require.Error(t, err, "unknown name accepted")
}
