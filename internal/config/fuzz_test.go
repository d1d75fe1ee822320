package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// addExperimentSeeds adds every fixture experiment file as a fuzz seed.
func addExperimentSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "experiments", "*.yaml"))
	files = append(files, filepath.Join("..", "..", "experiments", "default.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzLoad feeds random bytes to the loader as an experiment file: it must
// never panic, and what it accepts must be usable.
func FuzzLoad(f *testing.F) {
	addExperimentSeeds(f)
	f.Add([]byte("stages: {train: python/train.py}\ntrain: &a {x: [*a]}\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a]\n<<: {stages: {train: python/train.py}}\n"))
	root := testRoot(f, "project")
	file := filepath.Join(root, "experiments", "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parse(root, file, data)
		if err != nil {
			if e != nil {
				t.Fatal("experiment returned with an error")
			}
			return
		}
		checkLoaded(t, e)
	})
}

// checkLoaded asserts what every accepted experiment guarantees.
func checkLoaded(t *testing.T, e *Experiment) {
	t.Helper()
	if !json.Valid(e.Params.JSON()) {
		t.Fatalf("invalid params JSON: %s", e.Params.JSON())
	}
	if e.Params["seed"] != e.Seed {
		t.Fatalf("params seed %v != Seed %d", e.Params["seed"], e.Seed)
	}
	var back map[string]any
	if err := yaml.Unmarshal(e.Params.YAML(), &back); err != nil {
		t.Fatalf("params YAML does not parse: %v\n%s", err, e.Params.YAML())
	}
	if len(e.Stages) == 0 {
		t.Fatal("no stages")
	}
	last := -1
	for _, s := range e.Stages {
		i := slices.Index(StageOrder, s.Name)
		if i <= last {
			t.Fatalf("stages out of order: %+v", e.Stages)
		}
		last = i
		if s.IsCmd() == (s.Script != "") {
			t.Fatalf("stage is neither or both script and cmd: %+v", s)
		}
		vars := map[string]string{"in": "i", "out": "o", "run_dir": "r", "python": "p", "root": "/"}
		for _, tmpl := range []string{s.Cmd, s.Metrics} {
			if _, err := Expand(tmpl, e.Params, vars); err != nil {
				t.Fatalf("accepted template %q does not expand: %v", tmpl, err)
			}
		}
		if len(s.Deps) == 0 { // deps may name any directory: do not walk them here
			if _, err := e.StageKey(s.Name, make([]string, len(e.Upstream(s.Name))), "", nil); err != nil {
				t.Fatalf("StageKey(%s): %v", s.Name, err)
			}
		}
	}
}

// FuzzSet applies random override strings: never a panic, all or nothing,
// and the set of keys never changes.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"train.lr=3e-4 train.epochs=3 seed=1", `data.source="a b"`, "train.layers=[1,2]",
		"train.note=null", "=", "train.lr", `x="`, "train.opt.name='a: b'", "seed=-1",
		"train=1", `data.source="'3'"`, "train.lr=.inf", "preprocess.scale=!!str x",
		"train.layers=[*a]", "train.note=&a [*a]", "train.lr=1e400",
	} {
		f.Add(s)
	}
	e0 := MustLoad(f, testRoot(f, "project"), "full")
	keys := e0.Params.Keys()
	f.Fuzz(func(t *testing.T, s string) {
		e := *e0
		e.Params = e0.Params.clone()
		before := string(e.Params.JSON())
		if err := e.Set(s); err != nil {
			if string(e.Params.JSON()) != before || e.Seed != e0.Seed {
				t.Fatalf("failed Set(%q) changed params", s)
			}
			if !strings.HasPrefix(err.Error(), "-set: ") {
				t.Fatalf("error without -set prefix: %v", err)
			}
			return
		}
		if !reflect.DeepEqual(e.Params.Keys(), keys) {
			t.Fatalf("Set(%q) changed the keys: %v", s, e.Params.Keys())
		}
		if !json.Valid(e.Params.JSON()) || e.Params["seed"] != e.Seed {
			t.Fatalf("Set(%q) left bad params: %s (seed %d)", s, e.Params.JSON(), e.Seed)
		}
	})
}

// FuzzExpand expands random templates: never a panic; text without $ comes
// back unchanged.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"python t.py --lr ${train.lr}", "$$", "${", "${}", "$", "${a}${b", "${ seed }"} {
		f.Add(s)
	}
	p := Params{"seed": 1, "train": map[string]any{"lr": 0.1, "note": "it's"}}
	vars := map[string]string{"out": "/o"}
	f.Fuzz(func(t *testing.T, tmpl string) {
		got, err := Expand(tmpl, p, vars)
		if err == nil && !strings.Contains(tmpl, "$") && got != tmpl {
			t.Fatalf("Expand(%q) = %q", tmpl, got)
		}
	})
}

// FuzzPyImports scans random Python source: never a panic, only valid
// module names come out.
func FuzzPyImports(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "python", "*", "*.py"))
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(string(data))
	}
	f.Add("from . import (a,\n b)\n'''\nimport x")
	f.Fuzz(func(t *testing.T, src string) {
		for _, imp := range pyImports(src) {
			if imp.module != "" && !moduleRe.MatchString(imp.module) {
				t.Fatalf("bad module %q from %q", imp.module, src)
			}
			if imp.level == 0 && imp.module == "" {
				t.Fatalf("import without module or level from %q", src)
			}
		}
	})
}
