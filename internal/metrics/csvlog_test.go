package metrics

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    *CSVLog
		wantErr string
	}{
		// As Lightning's CSVLogger writes: sparse rows, one per log call.
		{"Lightning", "epoch,step,train_loss,val_loss\n0,49,0.9,\n0,49,,0.8\n1,99,0.5,\n1,99,,0.45\n",
			&CSVLog{Names: []string{"epoch", "train_loss", "val_loss"}, Series: map[string][]Point{
				"epoch":      {{49, 0}, {49, 0}, {99, 1}, {99, 1}},
				"train_loss": {{49, 0.9}, {99, 0.5}},
				"val_loss":   {{49, 0.8}, {99, 0.45}},
			}}, ""},
		{"TornLastLine", "step,loss\n1,0.5\n2,\"0.4\n", &CSVLog{Names: []string{"loss"}, Series: map[string][]Point{"loss": {{1, 0.5}}}}, ""},
		{"NotNumbers", "step,loss,note\n1,nan,hello\n", &CSVLog{Names: []string{"loss", "note"}, Series: map[string][]Point{}}, ""},
		{"NoStepColumn", "epoch,loss\n0,0.5\n", nil, `no "step" column`},
		{"Empty", "", nil, "no header row"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), CSVName)
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o644))
			got, err := ReadCSV(p)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), p)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
