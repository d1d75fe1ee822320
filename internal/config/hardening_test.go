package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadRefusesBadInput covers inputs that were accepted silently: paths
// that leave the project, names that are paths, integers past 64 bits,
// int ranges a sampler cannot draw from, a dangling experiment link.
func TestLoadRefusesBadInput(t *testing.T) {
	base := "name: x\nstages:\n  train: python/train.py\n"
	cmd := "name: x\nstages:\n  train: {cmd: \"echo hi\", deps: %s}\n"
	tests := []struct {
		name, file, err string
	}{
		{"VenvDirLeaves", base + "venv: {dir: ../../tmp/x}\n", `venv.dir: "../../tmp/x" leaves the project: name a directory inside it`},
		{"VenvDirLeavesInside", base + "venv: {dir: envs/../../x}\n", `venv.dir: "envs/../../x" leaves the project`},
		{"DepsLeave", sprintf(cmd, "[data, ../secret.txt]"), `stages.train.deps: "../secret.txt" leaves the project`},
		{"NameWithSlash", "name: a/b\nstages:\n  train: python/train.py\n", `name: "a/b" is not a plain name`},
		{"NameDots", "name: ..\nstages:\n  train: python/train.py\n", `name: ".." is not a plain name`},
		{"NameEscape", "name: \"x\\e[31m\"\nstages:\n  train: python/train.py\n", `is not a plain name`},
		{"IntegerPast64Bits", base + "train: {steps: 99999999999999999999}\n", "train.steps: 99999999999999999999 is an integer too large for 64 bits"},
		{"NegativeIntegerPast64Bits", base + "train: {steps: -9223372036854775809}\n", "is an integer too large for 64 bits"},
		{"IntRangeTooWide", base + "train: {n: 1}\nsweep:\n  method: random\n  trials: 3\n  parameters: {train.n: {min: 0, max: 1.0e300, int: true}}\n", "an int range's ends must lie within ±2^53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "python/train.py", "print(1)\n")
			writeFile(t, root, "experiments/x.yaml", tt.file)
			_, err := Load(root, "x")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
	t.Run("AbsolutePathsMeanIt", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, root, "experiments/x.yaml", sprintf(cmd, "["+filepath.Join(t.TempDir(), "data")+"]")+"venv: {dir: "+filepath.Join(t.TempDir(), "venv")+"}\n")
		_, err := Load(root, "x")
		require.NoError(t, err)
	})
	t.Run("ExperimentOutsideProject", func(t *testing.T) {
		parent := t.TempDir()
		root := filepath.Join(parent, "project")
		writeFile(t, root, "python/train.py", "print(1)\n")
		writeFile(t, parent, "other.yaml", base)
		_, err := Load(root, "../other.yaml")
		require.ErrorContains(t, err, "load experiment ../other.yaml: it lies outside the project")
		_, err = Load(root, filepath.Join(parent, "other.yaml"))
		require.NoError(t, err, "an absolute path says where it means")
		writeFile(t, root, "experiments/x.yaml", base)
		_, err = Load(root, "../project/experiments/x.yaml")
		require.NoError(t, err, "a path that climbs out and back in stays in the project")
	})
	t.Run("DanglingSymlink", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, root, "experiments/real.yaml", base)
		require.NoError(t, os.Symlink("gone.yaml", filepath.Join(root, "experiments", "dangling.yaml")))
		_, err := Load(root, "dangling")
		require.EqualError(t, err, `experiment "dangling": experiments/dangling.yaml is a symlink to gone.yaml, which does not exist (a dangling link): fix or remove the link`)
	})
}

var sprintf = fmt.Sprintf
