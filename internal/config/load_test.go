package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadErrors(t *testing.T) {
	root := testRoot(t, "errors")
	tests := []struct {
		name, file string
		want       string
		line, col  int
	}{
		{"UnknownKey", "unknown_key", `experiments/unknown_key.yaml:5:1: unknown key "trian" (did you mean "train"?)`, 5, 1},
		{"UnknownStage", "unknown_stage", `experiments/unknown_stage.yaml:2:3: stages: unknown stage "trian" (did you mean "train"?); stages are setup-data, preprocess, train, eval`, 2, 3},
		{"UnknownStageUnderscore", "setup_data_stage", `experiments/setup_data_stage.yaml:2:3: stages: unknown stage "setup_data" (did you mean "setup-data"?); stages are setup-data, preprocess, train, eval`, 2, 3},
		{"UnknownStageKey", "stage_unknown_key", `experiments/stage_unknown_key.yaml:4:5: stages.train: unknown key "metric" (did you mean "metrics"?); a stage has script, or cmd with optional metrics and deps`, 4, 5},
		{"UnknownVenvKey", "venv_unknown", `experiments/venv_unknown.yaml:4:3: venv: unknown key "system_site_package" (did you mean "system_site_packages"?)`, 4, 3},
		{"VenvDirInCode", "venv_dir", `experiments/venv_dir.yaml:4:8: venv.dir: "python/venv" is the project root or a directory of its code or records: name a directory of its own, like .venv-hf`, 4, 8},
		{"WrongType", "wrong_type", `experiments/wrong_type.yaml:3:7: seed: expected an integer, found string "abc"`, 3, 7},
		{"WrongTypeSection", "section_list", `experiments/section_list.yaml:3:8: train: expected a mapping of hyperparameters (key: value), found a list`, 3, 8},
		{"WrongTypeRequirements", "requirements_type", `experiments/requirements_type.yaml:1:15: requirements: expected a path or a list of paths, found a mapping`, 1, 15},
		{"WrongTypeTolerance", "tolerance", `experiments/tolerance.yaml:3:24: reproduce.tolerance: expected a number, found string "high"`, 3, 24},
		{"WrongTypeSweep", "sweep_list", `experiments/sweep_list.yaml:3:8: sweep: expected a mapping (method, parameters, ...), found a list`, 3, 8},
		{"BadTag", "bad_tag", `experiments/bad_tag.yaml:3:13: train.lr: "abc" is not a valid integer (or is out of range)`, 3, 13},
		{"SeedOutOfRange", "seed_negative", `experiments/seed_negative.yaml:3:7: seed: -1 is out of range: seeds go from 0 to 4294967295 (numpy's range)`, 3, 7},
		{"SyntaxError", "syntax", `experiments/syntax.yaml:3: YAML syntax error: did not find expected ',' or '}'`, 3, 0},
		{"SyntaxErrorFirstLine", "syntax_line1", `experiments/syntax_line1.yaml:1: YAML syntax error: mapping values are not allowed in this context`, 1, 0},
		{"SecondDocument", "second_doc", `experiments/second_doc.yaml:3:1: a second YAML document (---) is not supported: one experiment per file`, 3, 1},
		{"EmptyFile", "empty", `experiments/empty.yaml: empty experiment file (see experiments/default.yaml for the keys)`, 0, 0},
		{"NotMapping", "not_mapping", `experiments/not_mapping.yaml:1:1: an experiment is a mapping of keys (name, stages, train, ...), found a list`, 1, 1},
		{"MissingScript", "missing_script", `experiments/missing_script.yaml:2:10: stages.train: script python/trian.py not found (resolved against the project root $ROOT) (did you mean python/train.py?)`, 2, 10},
		{"MissingRequirements", "requirements_missing", `experiments/requirements_missing.yaml:1:34: requirements: python/requirements-gpu.txt not found (paths are relative to the project root $ROOT)`, 1, 34},
		{"StageNotPython", "stage_not_py", `experiments/stage_not_py.yaml:2:10: stages.train: "python python/train.py --lr 1" is not a Python script (.py); to run a command write train: {cmd: "python python/train.py --lr 1"}`, 2, 10},
		{"StageNull", "stage_null", `experiments/stage_null.yaml:2:3: stages.train: no script or command given (write train: python/train.py or train: {cmd: ...})`, 2, 3},
		{"ScriptAndCmd", "script_and_cmd", `experiments/script_and_cmd.yaml:2:10: stages.train: give either script or cmd, not both`, 2, 10},
		{"DepsOnScriptStage", "script_deps", `experiments/script_deps.yaml:2:42: stages.train.deps: only command stages take deps (the script writes OUTPUT_DIR/metrics.json)`, 2, 42},
		{"CmdUnknownParam", "cmd_unknown_param", `experiments/cmd_unknown_param.yaml:3:10: stages.train.cmd: unknown name ${train.lrr} (did you mean ${train.lr}?)`, 3, 10},
		{"CmdUnterminated", "cmd_unterminated", `experiments/cmd_unterminated.yaml:2:16: stages.train.cmd: unterminated ${ at offset 29 (write $$ for a literal $)`, 2, 16},
		{"CmdSection", "section_param", `experiments/section_param.yaml:2:16: stages.train.cmd: ${train} is a section, not a value: name one of its keys (train.lr)`, 2, 16},
		{"ParamListOfMappings", "list_of_maps", `experiments/list_of_maps.yaml:5:7: train.layers[0]: lists in params hold scalars only, found a mapping`, 5, 7},
		{"ParamDottedKey", "dotted_key", `experiments/dotted_key.yaml:3:9: train: key "opt.lr" must not contain a dot (dots separate nested keys in -set and ${...})`, 3, 9},
		{"ParamNotFinite", "infinite", `experiments/infinite.yaml:3:20: train.max_steps: .inf is not a finite number (params are written as JSON)`, 3, 20},
		{"DuplicateKey", "duplicate_key", `experiments/duplicate_key.yaml:5:3: duplicate key "lr" (first at line 4)`, 5, 3},
		{"AliasCycle", "alias_cycle", `experiments/alias_cycle.yaml:3:8: train.x.x.…: nested more than 64 levels deep (an alias inside its own anchor?)`, 3, 8},
		{"ExportUnknownMode", "export_mode", `experiments/export_mode.yaml:4:11: export.mlflow: expected auto (export each run as it finishes, when MLFLOW_TRACKING_URI is set) or off, found "atuo" (did you mean "auto"?)`, 4, 11},
		{"ExportUnknownKey", "export_unknown", `experiments/export_unknown.yaml:4:3: export: unknown key "mlfow" (did you mean "mlflow"?)`, 4, 3},
		{"ExportNotAScalar", "export_list", `experiments/export_list.yaml:4:11: export.mlflow: expected auto or off, found a list`, 4, 11},
		{"SeveralErrors", "several", "experiments/several.yaml:2:7: seed: expected an integer, found float 1.5\n" +
			`experiments/several.yaml:5:3: stages: unknown stage "evl" (did you mean "eval"?); stages are setup-data, preprocess, train, eval` + "\n" +
			`experiments/several.yaml:6:19: venv.installer: expected one of auto, uv, pip, found "conda"`, 2, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Load(root, tt.file)
			assert.Nil(t, e, "Load returned an experiment with the error")
			require.Equal(t, tt.want, errText(err, root), "error")
			var ce *Error
			require.ErrorAs(t, err, &ce, "error %T is not a *Error", err)
			want := Pos{File: "experiments/" + tt.file + ".yaml", Line: tt.line, Col: tt.col}
			assert.Equal(t, want, ce.Pos, "Pos")
		})
	}
}

func TestLoadSyntaxErrorWrapsCause(t *testing.T) {
	root := testRoot(t, "errors")
	_, err := Load(root, "syntax")
	var ce *Error
	require.ErrorAs(t, err, &ce, "syntax error does not wrap the YAML parser's error: %#v", err)
	require.NotNil(t, ce.Err, "syntax error does not wrap the YAML parser's error: %#v", err)
	require.NotNil(t, errors.Unwrap(err), "syntax error does not wrap the YAML parser's error: %#v", err)
}

func TestLoadMissingFile(t *testing.T) {
	root := testRoot(t, "project")
	tests := []struct {
		name, arg, want string
	}{
		{"MissingFile", "trian", `experiment "trian" not found: open $ROOT/experiments/trian.yaml: no such file or directory; experiments: anchors, cmd, full, minimal (in $ROOT/experiments)`},
		{"MissingFileSuggestion", "ful", `experiment "ful" not found (did you mean "full"?): open $ROOT/experiments/ful.yaml: no such file or directory; experiments: anchors, cmd, full, minimal (in $ROOT/experiments)`},
		{"MissingPath", "experiments/nope.yaml", `experiment "experiments/nope.yaml" not found: open $ROOT/experiments/nope.yaml: no such file or directory; experiments: anchors, cmd, full, minimal (in $ROOT/experiments)`},
		{"NoName", "", `load experiment: no experiment named (experiments: anchors, cmd, full, minimal (in $ROOT/experiments))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(root, tt.arg)
			require.Equal(t, tt.want, errText(err, root), "error")
			if tt.arg != "" {
				assert.ErrorIs(t, err, fs.ErrNotExist)
			}
		})
	}
	t.Run("NoExperimentsDir", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Load(dir, "x")
		want := `experiment "x" not found: open $ROOT/experiments/x.yaml: no such file or directory; experiments: none in $ROOT/experiments`
		require.Equal(t, want, errText(err, dir), "error")
	})
}

func TestLoadResolvesNameOrPath(t *testing.T) {
	root := testRoot(t, "project")
	tests := []struct{ name, arg string }{
		{"Name", "minimal"},
		{"BareFileName", "minimal.yaml"},
		{"RelativePath", "experiments/minimal.yaml"},
		{"DotRelativePath", "./experiments/minimal.yaml"},
		{"AbsolutePath", filepath.Join(root, "experiments", "minimal.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustLoad(t, root, tt.arg)
			assert.Equal(t, filepath.Join(root, "experiments", "minimal.yaml"), e.File, "File")
		})
	}
	t.Run("RelativeRoot", func(t *testing.T) {
		e := MustLoad(t, "testdata/project", "minimal")
		assert.Equal(t, root, e.Root, "Root")
	})
	t.Run("YmlExtension", func(t *testing.T) {
		dir := copyTree(t, "project")
		require.NoError(t, os.Rename(filepath.Join(dir, "experiments/minimal.yaml"), filepath.Join(dir, "experiments/small.yml")))
		assert.Equal(t, "small", MustLoad(t, dir, "small").Name, "Name")
	})
}

func TestLoadFull(t *testing.T) {
	root := testRoot(t, "project")
	e := MustLoad(t, root, "full")
	data, err := os.ReadFile(filepath.Join(root, "experiments", "full.yaml"))
	require.NoError(t, err)
	want := &Experiment{
		Name:         "full-mlp",
		Description:  "every key of the schema",
		File:         filepath.Join(root, "experiments", "full.yaml"),
		Root:         root,
		Hash:         sha256Hex(data),
		Requirements: []string{"requirements.txt"},
		Stages: []Stage{
			{Name: "setup-data", Script: "python/setup_data.py", Pos: Pos{"experiments/full.yaml", 6, 3}},
			{Name: "preprocess", Script: "python/preprocess.py", Pos: Pos{"experiments/full.yaml", 7, 3}},
			{Name: "train", Script: "python/train.py", Pos: Pos{"experiments/full.yaml", 8, 3}},
			{Name: "eval", Script: "python/evaluate.py", Pos: Pos{"experiments/full.yaml", 9, 3}},
		},
		Seed: 42,
		Params: Params{
			"seed":       42,
			"data":       map[string]any{"test_size": 0.2, "source": "digits"},
			"preprocess": map[string]any{"scale": true},
			"train": map[string]any{
				"lr": 3e-4, "epochs": 30, "layers": []any{64, 32}, "note": nil,
				"opt": map[string]any{"name": "adam", "betas": []any{0.9, 0.999}},
			},
			"eval": map[string]any{"batch_size": 256},
		},
		Venv:      Venv{SystemSitePackages: true, Python: "/usr/bin/python3", Installer: "uv", Dir: ".venv-full"},
		Reproduce: Reproduce{Tolerance: 0.001},
		Sweep: &Sweep{
			Method: "grid", Goal: "maximize", Seed: 42, Metric: "val_accuracy",
			Parameters:   []SweepParam{{Key: "train.lr", Values: []any{0.1, 0.01}}},
			GPUsPerTrial: 1, TrialsPerGPU: 1, ThreadsPerTrial: 1,
			Raw: map[string]any{
				"method":     "grid",
				"parameters": map[string]any{"train.lr": []any{0.1, 0.01}},
				"metric":     "val_accuracy",
			},
		},
		Serve:  &Serve{Service: "python/serve.py", Class: "Classifier", Model: "model.joblib", Usage: `POST /predict {"inputs": [[1, 2]]}`},
		Export: &Export{MLflow: "auto"},
	}
	assert.Equal(t, want, e, "Load(full)")
}

func TestLoadDefaults(t *testing.T) {
	root := testRoot(t, "project")
	e := MustLoad(t, root, "minimal")
	assert.Equal(t, "minimal", e.Name, "defaults: %+v", e)
	assert.Zero(t, e.Seed, "defaults: %+v", e)
	assert.Nil(t, e.Sweep, "defaults: %+v", e)
	assert.Nil(t, e.Requirements, "defaults: %+v", e)
	assert.Equal(t, Venv{}, e.Venv, "defaults: %+v", e)
	assert.Equal(t, Reproduce{}, e.Reproduce, "defaults: %+v", e)
	assert.Nil(t, e.Serve, "defaults: %+v", e)
	assert.Nil(t, e.Export, "defaults: %+v", e)
	assert.Equal(t, `{"seed":0}`, string(e.Params.JSON()), "Params, want only the seed")
}

func TestLoadAnchorsAndMerge(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "anchors")
	want := `{"data":{"offset":1,"size":10},"eval":{"offset":1,"size":10},"seed":0,"train":{"lr":0.1,"offset":1,"size":20}}`
	assert.Equal(t, want, string(e.Params.JSON()), "Params")
}

func TestLoadCmdStage(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "cmd")
	s, ok := e.Stage("train")
	require.True(t, ok, "Stage(train) = %+v, %v", s, ok)
	require.True(t, s.IsCmd(), "Stage(train) = %+v, %v", s, ok)
	want := Stage{
		Name:    "train",
		Cmd:     "python python/train.py --lr ${train.lr} --epochs ${train.epochs} --save ${out}/model.pt --note ${train.note}",
		Metrics: "${out}/results.json",
		Deps:    []string{"data", "config.json"},
		Pos:     Pos{"experiments/cmd.yaml", 4, 3},
		CmdPos:  Pos{"experiments/cmd.yaml", 5, 10},
	}
	assert.Equal(t, want, s, "Stage(train)")
	assert.Equal(t, "requirements.txt", e.Requirements[0], "a single requirements string: %q", e.Requirements)
}

func TestLoadDiscovery(t *testing.T) {
	t.Run("DefaultStagesDiscovered", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "discover"), "auto")
		want := []Stage{
			{Name: "setup-data", Script: "python/setup_data.py", Pos: Pos{File: "experiments/auto.yaml"}},
			{Name: "train", Script: "python/train.py", Pos: Pos{File: "experiments/auto.yaml"}},
			{Name: "eval", Script: "python/eval.py", Pos: Pos{File: "experiments/auto.yaml"}},
		}
		assert.Equal(t, want, e.Stages, "Stages")
	})
	t.Run("EmptyStagesDiscovered", func(t *testing.T) {
		e := MustLoad(t, testRoot(t, "discover"), "empty_stages")
		assert.Len(t, e.Stages, 3, "Stages = %+v, want 3 discovered", e.Stages)
	})
	t.Run("EvaluateFallback", func(t *testing.T) {
		dir := copyTree(t, "discover")
		require.NoError(t, os.Remove(filepath.Join(dir, "python", "eval.py")))
		e := MustLoad(t, dir, "auto")
		s, _ := e.Stage("eval")
		assert.Equal(t, "python/evaluate.py", s.Script, "eval script")
	})
	t.Run("NoStages", func(t *testing.T) {
		root := testRoot(t, "nostages")
		_, err := Load(root, "none")
		want := "experiments/none.yaml: no stages: add a stages: block or create one of python/setup_data.py, python/preprocess.py, python/train.py, python/eval.py, python/evaluate.py under $ROOT"
		require.Equal(t, want, errText(err, root), "error")
	})
}

// TestLoadRepoDefault loads the project's own main experiment.
func TestLoadRepoDefault(t *testing.T) {
	e := MustLoad(t, "../..", "default")
	var names []string
	for _, s := range e.Stages {
		names = append(names, s.Name)
		assert.False(t, s.IsCmd(), "stage %s is not a script stage: %+v", s.Name, s)
		assert.NotEmpty(t, s.Script, "stage %s is not a script stage: %+v", s.Name, s)
	}
	assert.Equal(t, StageOrder, names, "stages")
	assert.Equal(t, "digits-mlp", e.Name, "default experiment: name")
	assert.Equal(t, 42, e.Seed, "default experiment: seed")
	assert.NotNil(t, e.Sweep, "default experiment: sweep")
	v, ok := e.Params.Lookup("train.lr")
	assert.True(t, ok, "train.lr = %v, %v", v, ok)
	assert.Equal(t, 0.01, v, "train.lr")
}

func TestStageAndUpstream(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "cmd") // setup-data and train
	_, ok := e.Stage("eval")
	assert.False(t, ok, "Stage(eval) found in an experiment without eval")
	names := func(ss []Stage) (out []string) {
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	tests := []struct {
		stage string
		want  []string
	}{
		{"setup-data", nil},
		{"preprocess", []string{"setup-data"}},
		{"train", []string{"setup-data"}},
		{"eval", []string{"setup-data", "train"}},
		{"bogus", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, names(e.Upstream(tt.stage)), "Upstream(%s)", tt.stage)
	}
}

func TestSectionsFor(t *testing.T) {
	tests := map[string][]string{
		"setup-data": {"data", "preprocess"},
		"preprocess": {"data", "preprocess"},
		"train":      {"train"},
		"eval":       {"eval"},
		"bogus":      nil,
	}
	for stage, want := range tests {
		assert.Equal(t, want, SectionsFor(stage), "SectionsFor(%s)", stage)
	}
}

func TestParseEdgeCases(t *testing.T) {
	root := testRoot(t, "project")
	file := filepath.Join(root, "experiments", "edge.yaml")
	fanOut := "stages: {train: python/train.py}\nsweep:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 10; i++ {
		fanOut += fmt.Sprintf("  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	tests := []struct {
		name, data, want string
	}{
		{"OnlyDocumentMarker", "---\n", "experiments/edge.yaml: empty experiment file (see experiments/default.yaml for the keys)"},
		{"Whitespace", "\n\n  \n", "experiments/edge.yaml: empty experiment file (see experiments/default.yaml for the keys)"},
		{"Scalar", "hello\n", "experiments/edge.yaml:1:1: an experiment is a mapping of keys (name, stages, train, ...), found string \"hello\""},
		{"TrailingDocumentMarker", "stages: {train: python/train.py}\n---\n", ""},
		{"UnknownAnchor", "stages: {train: python/train.py}\ntrain: {a: 1, b: *nope}\n", "experiments/edge.yaml:2:18: YAML syntax error: unknown anchor 'nope' referenced"},
		{"ParserErrorLine", "stages:\n  train: python/train.py\n- x\n", "experiments/edge.yaml:3: YAML syntax error: did not find expected key"},
		{"ScannerErrorLine", "stages:\n  train: python/train.py\ntrain: {a: 'x}\n", "experiments/edge.yaml:3: YAML syntax error: found unexpected end of stream"},
		{"TabIndent", "stages:\n\ttrain: python/train.py\n", "experiments/edge.yaml:2: YAML syntax error: found character that cannot start any token"},
		{"AliasFanOut", fanOut, "experiments/edge.yaml:3:30: the document expands to more than 200000 nodes (alias fan-out?)"},
		{"MergeKeyNotMapping", "stages: {train: python/train.py}\ntrain: {<<: 3}\n", "experiments/edge.yaml:2:13: a merge key (<<) takes a mapping or a list of mappings, found integer 3"},
		{"NonScalarKey", "stages: {train: python/train.py}\ntrain: {[a]: 1}\n", "experiments/edge.yaml:2:9: keys must be plain scalars, found a list"},
		{"BrokenSectionNoEcho", "stages: {train: {cmd: 'python ${train.lr}'}}\ntrain: {lr: .inf}\n", "experiments/edge.yaml:2:13: train.lr: .inf is not a finite number (params are written as JSON)"},
		{"EmptyNameDefaults", "name: ''\nstages: {train: python/train.py}\n", ""},
		{"TimestampStaysString", "stages: {train: python/train.py}\ndata: {date: 2024-01-02}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parse(root, file, []byte(tt.data))
			if tt.want != "" {
				require.Equal(t, tt.want, errText(err, root), "error")
			} else {
				require.NoError(t, err, "unexpected error")
			}
			if e != nil {
				assert.Equal(t, "edge", e.Name, "Name, want the file's base name")
				if tt.name == "TimestampStaysString" {
					v, _ := e.Params.Lookup("data.date")
					assert.Equal(t, "2024-01-02", v, "data.date, want the string")
				}
			}
		})
	}
}
