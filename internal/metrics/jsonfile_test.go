package metrics

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadJSON(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]float64
		wantErr string
	}{
		{"Flat", `{"acc": 0.5, "n": 3}`, map[string]float64{"acc": 0.5, "n": 3}, ""},
		{"NullSkipped", `{"acc": null, "b": 1}`, map[string]float64{"b": 1}, ""},
		{"NotJSON", `{"acc": 0.5`, nil, "is not a JSON object"},
		{"NaN", `{"acc": NaN}`, nil, "NaN and Infinity are not JSON"},
		{"StringValue", `{"acc": "high"}`, nil, `metric "acc" is high`},
		{"Nested", `{"acc": {"a": 1}}`, nil, `metric "acc"`},
		{"Array", `[1, 2]`, nil, "is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "metrics.json")
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o644))
			got, err := ReadJSON(p)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), p, "the error names the file")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("Missing", func(t *testing.T) {
		got, err := ReadJSON(filepath.Join(t.TempDir(), "none.json"))
		assert.NoError(t, err)
		assert.Nil(t, got)
	})
}

func TestReadJSONL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(`{"step": 1, "loss": 0.9}
not json
{"step": 2, "loss": 0.5, "acc": 0.7, "phase": "train"}
{"step": 3, "lo`), 0o644))
	got, err := ReadJSONL(p)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"loss": 0.5, "acc": 0.7}, got, "last values; step, strings, stray and torn lines left out")
	got, err = ReadJSONL(filepath.Join(t.TempDir(), "none"))
	assert.NoError(t, err)
	assert.Nil(t, got)
}
