package adopt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record/recordtest"
)

func python3(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	require.NoError(t, err, "init's option reader needs python3")
	return p
}

// repo copies the scripts into a fresh repository root.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for dst, src := range files {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, dst)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, dst), b, 0o644))
	}
	return root
}

// TestInitGolden writes the experiment of two scripts: the e2e test's
// character-level model, and one with an option of every kind.
func TestInitGolden(t *testing.T) {
	tests := []struct{ name, script, data string }{
		{"charlm", "../../e2e/testdata/charlm/train.py", "../../e2e/testdata/charlm/names.txt"},
		{"tricky", "testdata/tricky/train.py", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"train.py": tc.script}
			if tc.data != "" {
				files["names.txt"] = tc.data
				files["requirements.txt"] = tc.data // any file: only its name matters here
			}
			root := repo(t, files)
			var out strings.Builder
			require.NoError(t, Init(context.Background(), Options{Root: root, Script: "train.py", Python: python3(t)}, &out))
			b, err := os.ReadFile(filepath.Join(root, ExperimentPath))
			require.NoError(t, err)
			recordtest.CheckGolden(t, tc.name+".yaml", b)
			recordtest.CheckGolden(t, tc.name+".out", []byte(out.String()))
			e, err := config.Load(root, "default")
			require.NoError(t, err, "the experiment init wrote loads")
			s, _ := e.Stage("train")
			line, err := config.Expand(s.Cmd, e.Params, map[string]string{"out": "/run/out"})
			require.NoError(t, err)
			recordtest.CheckGolden(t, tc.name+".cmd", []byte(line+"\n"))
		})
	}
}

func TestInitNeverOverwrites(t *testing.T) {
	root := repo(t, map[string]string{"train.py": "testdata/tricky/train.py"})
	require.NoError(t, os.WriteFile(filepath.Join(root, ".gitignore"), []byte("*.log"), 0o644))
	var first, second strings.Builder
	require.NoError(t, Init(context.Background(), Options{Root: root, Python: python3(t)}, &first))
	assert.Contains(t, first.String(), "init: .gitignore: added magelab's block")
	assert.Contains(t, first.String(), "init: wrote experiments/default.yaml: train.py with", "train.py is found without -script")
	gi, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
	assert.True(t, strings.HasPrefix(string(gi), "*.log\n\n"+gitignoreMark), "the block is appended after the user's lines:\n%s", gi)
	for _, want := range []string{"\n/runs/\n", "\n/.magelab/\n", "\n/.venv/\n", "\n.env*\n"} {
		assert.Contains(t, string(gi), want)
	}

	exp := filepath.Join(root, ExperimentPath)
	require.NoError(t, os.WriteFile(exp, []byte("name: mine\n"), 0o644))
	require.NoError(t, Init(context.Background(), Options{Root: root, Script: "train.py", Python: python3(t)}, &second))
	assert.Equal(t, "init: .gitignore: magelab's block is already there\n"+
		"init: experiments/default.yaml exists: left as it is (move it away to write a new one)\n", second.String())
	b, _ := os.ReadFile(exp)
	assert.Equal(t, "name: mine\n", string(b))
	gi2, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
	assert.Equal(t, string(gi), string(gi2))
}

func TestInitErrors(t *testing.T) {
	root := repo(t, map[string]string{"bad.py": "testdata/tricky/train.py"})
	require.NoError(t, os.WriteFile(filepath.Join(root, "broken.py"), []byte("def (:\n"), 0o644))
	tests := []struct{ name, script, want string }{
		{"Missing", "nope.py", "init: -script=nope.py: no such file under " + root},
		{"Outside", "../x.py", "init: -script=../x.py: no such file"},
		{"NotPython", "broken.py", "read the options of " + filepath.Join(root, "broken.py") + " with "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Init(context.Background(), Options{Root: root, Script: tc.script, Python: python3(t)}, &strings.Builder{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(filepath.Join(root, ExperimentPath))
			assert.True(t, os.IsNotExist(statErr), "a failed init writes no experiment")
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		flags []string
		dest  string
		want  string
	}{
		{[]string{"--work-dir", "-o"}, "", "work_dir"},
		{[]string{"-o", "--work-dir"}, "", "work_dir"},
		{[]string{"--model.lr"}, "", "model_lr"},
		{[]string{"-n"}, "num", "num"},
		{[]string{"-n"}, "", "n"},
		{[]string{"data"}, "", "data"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Option{Flags: tc.flags, Dest: tc.dest}.Key(), "%v", tc.flags)
	}
}
