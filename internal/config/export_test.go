package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportBlock(t *testing.T) {
	tests := []struct {
		name, block string
		want        *Export
		auto        bool
	}{
		{"AbsentIsNil", "", nil, false},
		{"Auto", "export: {mlflow: auto}\n", &Export{MLflow: ExportAuto}, true},
		{"Off", "export: {mlflow: off}\n", &Export{MLflow: ExportOff}, false},
		{"EmptyIsOff", "export: {}\n", &Export{MLflow: ExportOff}, false},
		{"NullIsNil", "export:\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(root, "experiments"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(root, "python"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "python", "train.py"), nil, 0o644))
			yaml := "name: e\nstages: {train: python/train.py}\n" + tt.block
			require.NoError(t, os.WriteFile(filepath.Join(root, "experiments", "e.yaml"), []byte(yaml), 0o644))
			e, err := Load(root, "e")
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.Export)
			assert.Equal(t, tt.auto, e.Export.Auto())
		})
	}
}
