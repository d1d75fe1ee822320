package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPyImports(t *testing.T) {
	tests := []struct {
		name, src string
		want      []pyImport
	}{
		{"Import", "import a", []pyImport{{module: "a"}}},
		{"ImportDotted", "import a.b", []pyImport{{module: "a.b"}}},
		{"ImportMany", "import a, b.c as d, e", []pyImport{{module: "a"}, {module: "b.c"}, {module: "e"}}},
		{"From", "from a.b import c", []pyImport{{module: "a.b", names: []string{"c"}}}},
		{"FromAs", "from a import b as c, d", []pyImport{{module: "a", names: []string{"b", "d"}}}},
		{"FromStar", "from a import *", []pyImport{{module: "a"}}},
		{"FromDot", "from . import x", []pyImport{{level: 1, names: []string{"x"}}}},
		{"FromDotModule", "from .mod import y", []pyImport{{level: 1, module: "mod", names: []string{"y"}}}},
		{"FromDotDot", "from ..pkg.m import z", []pyImport{{level: 2, module: "pkg.m", names: []string{"z"}}}},
		{"FromDotsNoSpace", "from ..import z", []pyImport{{level: 2, names: []string{"z"}}}},
		{"Parenthesised", "from a import (\n  b,\n  c,  # comment\n)", []pyImport{{module: "a", names: []string{"b", "c"}}}},
		{"Continuation", "from a import b, \\\n  c", []pyImport{{module: "a", names: []string{"b", "c"}}}},
		{"Indented", "def f():\n    import a\n", []pyImport{{module: "a"}}},
		{"InsideTry", "try:\n    import a\nexcept ImportError:\n    import b\n", []pyImport{{module: "a"}, {module: "b"}}},
		{"InlineTry", "try: import a\nexcept ImportError: import b", []pyImport{{module: "a"}, {module: "b"}}},
		{"InlineIf", "if x: import a", []pyImport{{module: "a"}}},
		{"Semicolon", "x = 1; import a; from b import c", []pyImport{{module: "a"}, {module: "b", names: []string{"c"}}}},
		{"Comment", "# import a\nx = 1  # from b import c", nil},
		{"String", `s = "import a"; t = 'from b import c'`, nil},
		{"TripleString", "\"\"\"\nimport a\n\"\"\"\n'''\nfrom b import c\n'''\nimport d", []pyImport{{module: "d"}}},
		{"EscapedQuote", `s = "x\" import a"` + "\nimport b", []pyImport{{module: "b"}}},
		{"NotAnImport", "important = 1\nfromage = 2\nimported.x()", nil},
		{"Future", "from __future__ import annotations", []pyImport{{module: "__future__", names: []string{"annotations"}}}},
		{"UnterminatedString", "s = 'abc\nimport a", []pyImport{{module: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pyImports(tt.src), "pyImports(%q)", tt.src)
		})
	}
}

func TestScriptFiles(t *testing.T) {
	t.Run("ResolvesProjectImports", func(t *testing.T) {
		e := &Experiment{Root: testRoot(t, "imports"), Stages: []Stage{{Name: "train", Script: "python/digits/train.py"}}}
		got, err := e.ScriptFiles("train")
		require.NoError(t, err)
		want := []string{
			"python/digits/__init__.py", "python/digits/helpers.py", "python/digits/model.py",
			"python/digits/sibling.py", "python/digits/train.py", "python/inline_mod.py", "python/lab.py",
			"python/pkg/__init__.py", "python/pkg/sub/__init__.py", "python/pkg/sub/deep.py", "python/semi.py",
		}
		assert.Equal(t, want, got, "ScriptFiles")
	})
	t.Run("ImportCycle", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "full")
		got, err := e.ScriptFiles("eval")
		require.NoError(t, err)
		want := []string{"python/evaluate.py", "python/lab.py", "python/models/__init__.py", "python/models/layers.py", "python/models/mlp.py"}
		assert.Equal(t, want, got, "ScriptFiles(eval)")
	})
	t.Run("CmdStage", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "cmd")
		got, err := e.ScriptFiles("train")
		require.NoError(t, err)
		want := []string{"python/lab.py", "python/models/__init__.py", "python/models/layers.py", "python/models/mlp.py", "python/train.py"}
		assert.Equal(t, want, got, "ScriptFiles(train)")
	})
	t.Run("NotConfigured", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "minimal")
		_, err := e.ScriptFiles("eval")
		assert.EqualError(t, err, `stage "eval" is not configured in experiments/minimal.yaml`)
	})
	t.Run("RepoDefault", func(t *testing.T) {
		e := MustLoad(t, "../..", "default")
		got, err := e.ScriptFiles("train")
		require.NoError(t, err)
		want := []string{"python/digits/__init__.py", "python/digits/model.py", "python/digits/train.py", "python/lab.py"}
		assert.Equal(t, want, got, "ScriptFiles(train)")
	})
}

func TestCmdFiles(t *testing.T) {
	root := testRoot(t, "project")
	tests := []struct {
		name, cmd string
		want      []string
	}{
		{"Script", "python python/train.py --lr ${train.lr}", []string{"python/train.py"}},
		{"FlagValue", "python python/train.py --config=config.json", []string{"python/train.py", "config.json"}},
		{"Quoted", `python "python/train.py"`, []string{"python/train.py"}},
		{"RootVar", "python ${root}/python/lab.py", []string{"python/lab.py"}},
		{"OtherVarSkipped", "python ${in}/train.py", nil},
		{"DirectoryIgnored", "ls python data", nil},
		{"OutsideRootIgnored", "cat ../errors/requirements.txt /etc/hostname", nil},
		{"Duplicates", "python/lab.py python/lab.py", []string{"python/lab.py"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, cmdFiles(root, tt.cmd), "cmdFiles(%q)", tt.cmd)
		})
	}
}
