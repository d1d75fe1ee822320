package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// addExperimentSeeds adds every fixture experiment file as a fuzz seed.
func addExperimentSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "experiments", "*.yaml"))
	files = append(files, filepath.Join("..", "..", "experiments", "default.yaml"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
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
			require.Nil(t, e, "experiment returned with an error")
			return
		}
		checkLoaded(t, e)
	})
}

// checkLoaded asserts what every accepted experiment guarantees.
func checkLoaded(t *testing.T, e *Experiment) {
	t.Helper()
	require.True(t, json.Valid(e.Params.JSON()), "invalid params JSON: %s", e.Params.JSON())
	require.Equal(t, e.Seed, e.Params["seed"], "params seed != Seed")
	var back map[string]any
	require.NoError(t, yaml.Unmarshal(e.Params.YAML(), &back), "params YAML does not parse:\n%s", e.Params.YAML())
	require.NotEmpty(t, e.Stages, "no stages")
	last := -1
	for _, s := range e.Stages {
		i := slices.Index(StageOrder, s.Name)
		require.Greater(t, i, last, "stages out of order: %+v", e.Stages)
		last = i
		require.NotEqual(t, s.IsCmd(), s.Script != "", "stage is neither or both script and cmd: %+v", s)
		vars := map[string]string{"in": "i", "out": "o", "run_dir": "r", "python": "p", "root": "/"}
		for _, tmpl := range []string{s.Cmd, s.Metrics} {
			_, err := Expand(tmpl, e.Params, vars)
			require.NoError(t, err, "accepted template %q does not expand", tmpl)
		}
		if len(s.Deps) == 0 { // deps may name any directory: do not walk them here
			_, err := e.StageKey(s.Name, make([]string, len(e.Upstream(s.Name))), "", nil)
			require.NoError(t, err, "StageKey(%s)", s.Name)
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
			require.Equal(t, before, string(e.Params.JSON()), "failed Set(%q) changed params", s)
			require.Equal(t, e0.Seed, e.Seed, "failed Set(%q) changed params", s)
			require.True(t, strings.HasPrefix(err.Error(), "-set: "), "error without -set prefix: %v", err)
			return
		}
		require.Equal(t, keys, e.Params.Keys(), "Set(%q) changed the keys", s)
		require.True(t, json.Valid(e.Params.JSON()), "Set(%q) left bad params: %s (seed %d)", s, e.Params.JSON(), e.Seed)
		require.Equal(t, e.Seed, e.Params["seed"], "Set(%q) left bad params: %s (seed %d)", s, e.Params.JSON(), e.Seed)
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
		if err == nil && !strings.Contains(tmpl, "$") {
			require.Equal(t, tmpl, got, "Expand(%q)", tmpl)
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
			if imp.module != "" {
				require.Regexp(t, moduleRe, imp.module, "bad module %q from %q", imp.module, src)
			}
			if imp.level == 0 {
				require.NotEmpty(t, imp.module, "import without module or level from %q", src)
			}
		}
	})
}
