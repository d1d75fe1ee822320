package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stageKey loads exp from dir, applies set and returns the key of stage.
func stageKey(tb testing.TB, dir, exp, set, stage string, upstream []string, req string) string {
	tb.Helper()
	e := MustLoad(tb, dir, exp)
	require.NoError(tb, e.Set(set))
	key, err := e.StageKey(stage, upstream, req, FileHasher{})
	require.NoError(tb, err)
	return key
}

func appendFile(tb testing.TB, dir, rel, text string) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if !errors.Is(err, os.ErrNotExist) {
		require.NoError(tb, err)
	}
	writeFile(tb, dir, rel, string(data)+text)
}

func TestStageKeyInputs(t *testing.T) {
	up2 := []string{"k-setup", "k-pre"}
	type input struct {
		set      string
		upstream []string
		req      string
	}
	tests := []struct {
		name    string
		exp     string // experiment; its train stage is keyed
		base    input
		changed input
		mutate  func(t *testing.T, dir string)
		differs bool
	}{
		// Script stage (full.yaml: train after setup-data and preprocess).
		{name: "ScriptContent", exp: "full", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/train.py", "x = 1\n") }, differs: true},
		{name: "ImportedFileContent", exp: "full", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/models/layers.py", "x = 1\n") }, differs: true},
		{name: "NewImportedFile", exp: "full", mutate: func(t *testing.T, dir string) { writeFile(t, dir, "python/models/mlp.py", "from . import layers\n") }, differs: true},
		{name: "ScriptPath", exp: "full", mutate: func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "python/train.py"))
			writeFile(t, dir, "python/train2.py", string(data))
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/full.yaml"))
			writeFile(t, dir, "experiments/full.yaml", strings.Replace(string(yml), "train: python/train.py", "train: python/train2.py", 1))
		}, differs: true},
		{name: "OwnSection", exp: "full", changed: input{set: "train.lr=0.5"}, differs: true},
		{name: "UpstreamSection", exp: "full", changed: input{set: "data.test_size=0.3"}, differs: true},
		{name: "UpstreamSectionOfUnconfiguredStage", exp: "cmd", changed: input{set: "data.test_size=0.3"}, differs: true},
		{name: "Seed", exp: "full", changed: input{set: "seed=1"}, differs: true},
		{name: "UpstreamKey", exp: "full", changed: input{upstream: []string{"k-setup", "other"}}, differs: true},
		{name: "UpstreamKeyOrder", exp: "full", changed: input{upstream: []string{"k-pre", "k-setup"}}, differs: true},
		{name: "RequirementsHash", exp: "full", changed: input{req: "other"}, differs: true},
		{name: "DownstreamSection", exp: "full", changed: input{set: "eval.batch_size=1"}, differs: false},
		{name: "UnimportedFile", exp: "full", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/models/unused.py", "x = 1\n") }, differs: false},
		{name: "OtherStageScript", exp: "full", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/evaluate.py", "x = 1\n") }, differs: false},
		{name: "YAMLComments", exp: "full", mutate: func(t *testing.T, dir string) {
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/full.yaml"))
			writeFile(t, dir, "experiments/full.yaml", "# header\n"+strings.ReplaceAll(string(yml), "\n", "  # note\n"))
		}, differs: false},
		{name: "YAMLKeyOrderAndStyle", exp: "full", mutate: func(t *testing.T, dir string) {
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/full.yaml"))
			s := strings.Replace(string(yml), "data: {test_size: 0.2, source: digits}\n", "", 1)
			writeFile(t, dir, "experiments/full.yaml", "data:\n  source: \"digits\"\n  test_size: 2.0e-1\n"+s)
		}, differs: false},
		{name: "DescriptionSweepVenv", exp: "full", mutate: func(t *testing.T, dir string) {
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/full.yaml"))
			s := strings.NewReplacer("every key of the schema", "changed", "installer: uv", "installer: pip", "[0.1, 0.01]", "[0.5]").Replace(string(yml))
			writeFile(t, dir, "experiments/full.yaml", s)
		}, differs: false},
		// Command stage (cmd.yaml: train after setup-data).
		{name: "CmdTemplate", exp: "cmd", mutate: func(t *testing.T, dir string) {
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/cmd.yaml"))
			writeFile(t, dir, "experiments/cmd.yaml", strings.Replace(string(yml), "--save", "--save-to", 1))
		}, differs: true},
		{name: "MetricsTemplate", exp: "cmd", mutate: func(t *testing.T, dir string) {
			yml, _ := os.ReadFile(filepath.Join(dir, "experiments/cmd.yaml"))
			writeFile(t, dir, "experiments/cmd.yaml", strings.Replace(string(yml), "results.json", "metrics.json", 1))
		}, differs: true},
		{name: "CmdScriptContent", exp: "cmd", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/train.py", "x = 1\n") }, differs: true},
		{name: "CmdScriptImport", exp: "cmd", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "python/lab.py", "x = 1\n") }, differs: true},
		{name: "DepFileContent", exp: "cmd", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "config.json", " ") }, differs: true},
		{name: "DepDirFileContent", exp: "cmd", mutate: func(t *testing.T, dir string) { appendFile(t, dir, "data/train.csv", "e,f\n") }, differs: true},
		{name: "DepDirNewFile", exp: "cmd", mutate: func(t *testing.T, dir string) { writeFile(t, dir, "data/sub/new.csv", "") }, differs: true},
		{name: "DepRemoved", exp: "cmd", mutate: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "config.json")) }, differs: true},
		{name: "CmdParam", exp: "cmd", changed: input{set: "train.epochs=4"}, differs: true},
		{name: "DepDirPycache", exp: "cmd", mutate: func(t *testing.T, dir string) { writeFile(t, dir, "data/__pycache__/x.pyc", "x") }, differs: false},
		{name: "CmdDownstreamSection", exp: "cmd", changed: input{set: "eval.batch_size=1"}, differs: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyTree(t, "project")
			up := up2
			if tt.exp == "cmd" {
				up = up2[:1]
			}
			fill := func(in input) input {
				if in.upstream == nil {
					in.upstream = up
				}
				if in.req == "" {
					in.req = "req-hash"
				}
				return in
			}
			b, c := fill(tt.base), fill(tt.changed)
			before := stageKey(t, dir, tt.exp, b.set, "train", b.upstream, b.req)
			require.Equal(t, before, stageKey(t, dir, tt.exp, b.set, "train", b.upstream, b.req), "same inputs gave different keys")
			if tt.mutate != nil {
				tt.mutate(t, dir)
			}
			after := stageKey(t, dir, tt.exp, c.set, "train", c.upstream, c.req)
			if tt.differs {
				assert.NotEqual(t, before, after, "key did not change")
			} else {
				assert.Equal(t, before, after, "key changed")
			}
		})
	}
}

// TestStageKeyStable pins the key encoding: if this fails and no fixture
// under testdata/project changed, the encoding changed, so bump keyVersion
// (old cache entries must stop matching) and update the constants.
func TestStageKeyStable(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "full")
	tests := []struct {
		stage    string
		upstream []string
		want     string
	}{
		{"setup-data", nil, "d9c08c24fb8dca78da6840f5bb70728e1d67eb0eae7ccd50a118dba94e824bc5"},
		{"eval", []string{"a", "b", "c"}, "0ad7934daf60d20acc84c0bb460d723606c4155f53d74967c6f628302c242455"},
	}
	for _, tt := range tests {
		got, err := e.StageKey(tt.stage, tt.upstream, "req", nil)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "StageKey(%s)", tt.stage)
	}
}

type failingHasher struct{}

func (failingHasher) HashFile(path string) (string, error) {
	return "", errors.New("disk on fire")
}

func TestStageKeyErrors(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "full")
	tests := []struct {
		name, stage string
		upstream    []string
		h           Hasher
		want        string
	}{
		{"NotConfigured", "bogus", nil, nil, `stage key: stage "bogus" is not configured in experiments/full.yaml`},
		{"WrongUpstreamCount", "train", []string{"a"}, nil, "stage key train: got 1 upstream keys, want 2 (one per configured upstream stage)"},
		{"HasherFails", "train", []string{"a", "b"}, failingHasher{}, "stage key train: disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.StageKey(tt.stage, tt.upstream, "req", tt.h)
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestFileHasher(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "f", "abc")
	got, err := FileHasher{}.HashFile(filepath.Join(dir, "f"))
	assert.NoError(t, err, "HashFile")
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", got, "HashFile")
	_, err = (FileHasher{}).HashFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist, "missing file")
}
