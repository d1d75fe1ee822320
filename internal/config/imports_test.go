package config

import (
	"reflect"
	"testing"
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
			if got := pyImports(tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pyImports(%q) = %+v, want %+v", tt.src, got, tt.want)
			}
		})
	}
}

func TestScriptFiles(t *testing.T) {
	t.Run("ResolvesProjectImports", func(t *testing.T) {
		e := &Experiment{Root: testRoot(t, "imports"), Stages: []Stage{{Name: "train", Script: "python/digits/train.py"}}}
		got, err := e.ScriptFiles("train")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"python/digits/__init__.py", "python/digits/helpers.py", "python/digits/model.py",
			"python/digits/sibling.py", "python/digits/train.py", "python/inline_mod.py", "python/lab.py",
			"python/pkg/__init__.py", "python/pkg/sub/__init__.py", "python/pkg/sub/deep.py", "python/semi.py",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ScriptFiles =\n %q\nwant\n %q", got, want)
		}
	})
	t.Run("ImportCycle", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "full")
		got, err := e.ScriptFiles("eval")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"python/evaluate.py", "python/lab.py", "python/models/__init__.py", "python/models/layers.py", "python/models/mlp.py"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ScriptFiles(eval) = %q, want %q", got, want)
		}
	})
	t.Run("CmdStage", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "cmd")
		got, err := e.ScriptFiles("train")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"python/lab.py", "python/models/__init__.py", "python/models/layers.py", "python/models/mlp.py", "python/train.py"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ScriptFiles(train) = %q, want %q", got, want)
		}
	})
	t.Run("NotConfigured", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "project"), "minimal")
		_, err := e.ScriptFiles("eval")
		if want := `stage "eval" is not configured in experiments/minimal.yaml`; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
	t.Run("RepoDefault", func(t *testing.T) {
		e := MustLoad(t, "../..", "default")
		got, err := e.ScriptFiles("train")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"python/digits/__init__.py", "python/digits/model.py", "python/digits/train.py", "python/lab.py"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ScriptFiles(train) = %q, want %q", got, want)
		}
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
			if got := cmdFiles(root, tt.cmd); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cmdFiles(%q) = %q, want %q", tt.cmd, got, tt.want)
			}
		})
	}
}
