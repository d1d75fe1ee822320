package runner

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
)

func TestProjectVenvDir(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name, expDir, env, want string
	}{
		{"ProjectVenv", "", "", filepath.Join(root, ".venv")},
		{"ExperimentDir", ".venv-hf", "", filepath.Join(root, ".venv-hf")},
		{"ExperimentDirNested", "venvs/./serve", "", filepath.Join(root, "venvs", "serve")},
		{"ExperimentDirAbsolute", "/opt/venvs/hf", "", "/opt/venvs/hf"},
		{"EnvWinsOverExperiment", ".venv-hf", "/shared/venv", "/shared/venv"},
		{"EnvRelative", "", "shared", filepath.Join(root, "shared")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProject(root, Settings{VenvDir: tt.env}, io.Discard)
			exp := &config.Experiment{Root: root, Venv: config.Venv{Dir: tt.expDir}}
			assert.Equal(t, tt.want, p.Venv(exp).Dir, "Venv(...).Dir")
		})
	}
}

// TestCleanAllRemovesExperimentVenvs: clean -all removes .venv and the venvs
// that experiments name in venv.dir, but not a directory that is not a venv.
func TestCleanAllRemovesExperimentVenvs(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		path := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("python/train.py", "")
	write("experiments/hf.yaml", "stages: {train: python/train.py}\nvenv: {dir: .venv-hf}\n")
	write("experiments/notvenv.yaml", "stages: {train: python/train.py}\nvenv: {dir: data-cache}\n")
	write("experiments/broken.yaml", "stages: {train: python/trian.py}\nvenv: {dir: .venv-broken}\n")
	write(".venv/pyvenv.cfg", "")
	write(".venv-hf/pyvenv.cfg", "")
	write("data-cache/keep.txt", "")
	write(".venv-broken/pyvenv.cfg", "")
	require.NoError(t, NewProject(root, Settings{}, io.Discard).Clean(true))
	for rel, want := range map[string]bool{".venv": false, ".venv-hf": false, "data-cache/keep.txt": true, ".venv-broken": true, "experiments": true} {
		_, err := os.Stat(filepath.Join(root, rel))
		assert.Equal(t, want, err == nil, "%s exists after clean -all", rel)
	}
}

// TestRunParamsKeepIntegers: eval reruns the data stages with the run's
// params, read from its params.json so that an integer stays one (run.json
// decodes 300 as 300.0, which a stage's typed params reject).
func TestRunParamsKeepIntegers(t *testing.T) {
	p := NewProject(t.TempDir(), Settings{}, io.Discard)
	want := config.Params{"seed": 42, "data": map[string]any{"n_test": 300, "frac": 1.0}}
	run := &record.Run{ID: "r1", Params: map[string]any{"seed": 42.0, "data": map[string]any{"n_test": 300.0, "frac": 1.0}}}
	dir := p.Ledger.RunDir("r1")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "params.json"), want.JSON(), 0o644)
	got, err := p.RunParams(run)
	assert.NoError(t, err, "runParams")
	assert.Equal(t, want, got, "runParams")
	// Without params.json, run.json's params as written: 1.0 reads back
	// as 1, which the params hash then rejects.
	os.Remove(filepath.Join(dir, "params.json"))
	run.ParamsHash = want.Hash()
	_, err = p.RunParams(run)
	assert.ErrorContains(t, err, "cannot be restored exactly", "without params.json")
}

// TestCleanKeepsTheRepositorysBin: in an adopting repository bin/ may be
// the repository's own; clean removes only magelab's build outputs there.
func TestCleanKeepsTheRepositorysBin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  []string
		binDir bool
	}{
		{"OnlyMagelabsOutputs", []string{"bin/magelab", "bin/plan.json"}, false},
		{"TheRepositorysOwnScript", []string{"bin/magelab", "bin/deploy.sh"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, f), []byte("x"), 0o755))
			}
			require.NoError(t, NewProject(root, Settings{}, io.Discard).Clean(false))
			assert.NoFileExists(t, filepath.Join(root, "bin/magelab"))
			_, err := os.Stat(filepath.Join(root, "bin"))
			assert.Equal(t, tc.binDir, err == nil, "bin/ kept")
			if tc.binDir {
				assert.FileExists(t, filepath.Join(root, "bin/deploy.sh"))
			}
		})
	}
}
