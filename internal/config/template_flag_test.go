package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpandFlags(t *testing.T) {
	p := Params{"train": map[string]any{
		"resume": false, "compile": true, "amp": false, "from": nil, "work": "a b", "steps": 3, "opt": map[string]any{"x": 1}, "evil": "$(touch x)",
	}}
	vars := map[string]string{"out": "/o"}
	tests := []struct {
		name, tmpl, want, err string
	}{
		{name: "StoreTrueOff", tmpl: "python t.py ${train.resume?--resume} --x 1", want: "python t.py  --x 1"},
		{name: "StoreTrueOn", tmpl: "${train.compile?--compile}", want: "--compile"},
		{name: "BooleanOptional", tmpl: "${train.amp?--amp:--no-amp} ${train.compile?--compile:--no-compile}", want: "--no-amp --compile"},
		{name: "NullLeftOut", tmpl: "${train.from?--resume-from}", want: ""},
		{name: "ValueAfterSpace", tmpl: "${train.work?--work-dir}", want: "--work-dir 'a b'"},
		{name: "ValueAfterEquals", tmpl: "${train.steps?--max-steps=}", want: "--max-steps=3"},
		{name: "ValueQuotedForItsPlace", tmpl: `${train.evil?--name} "${train.evil?--name}"`, want: `--name '$(touch x)' "--name \$(touch x)"`},
		{name: "UnknownParam", tmpl: "${train.resum?--resume}", err: "unknown name ${train.resum} (did you mean ${train.resume}?)"},
		{name: "NoFlag", tmpl: "${train.resume?}", err: "${train.resume?}: no flag after ? (write ${train.resume?--flag})"},
		{name: "VarIsNoParam", tmpl: "${out?--out}", err: "${out?--out}: ? takes a param, and out is not one"},
		{name: "Section", tmpl: "${train.opt?--opt}", err: "${train.opt?...}: train.opt is a section, not a value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expand(tc.tmpl, p, vars)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, tc.err, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
