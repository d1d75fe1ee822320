package mlflow

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

func TestParams(t *testing.T) {
	raw := []byte(`{"id": "r", "params": {"seed": 7, "train": {"lr": 3e-4, "epochs": 30, "ratio": 1.0, "name": "adam", "layers": [64, 32], "fast": true, "note": null, "opt": {"beta": 0.9}}, "empty": {}}}`)
	got, warnings := params(raw, &record.Run{})
	assert.Empty(t, warnings)
	assert.Equal(t, []kv{
		{"seed", "7"},
		{"train.epochs", "30"},
		{"train.fast", "true"},
		{"train.layers", "[64,32]"},
		{"train.lr", "3e-4"},
		{"train.name", "adam"},
		{"train.note", "null"},
		{"train.opt.beta", "0.9"},
		{"train.ratio", "1.0"},
	}, got, "flattened with dotted keys, sorted, numbers as run.json spells them")

	t.Run("WithoutRunJSONUsesTheRecord", func(t *testing.T) {
		got, _ := params(nil, &record.Run{Params: map[string]any{"train": map[string]any{"lr": 0.01, "epochs": float64(30)}}})
		assert.Equal(t, []kv{{"train.epochs", "30"}, {"train.lr", "0.01"}}, got)
	})
	t.Run("LongValueIsTruncatedWithAMarker", func(t *testing.T) {
		long := strings.Repeat("é", 7000)
		got, warnings := paramList(map[string]any{"vocab": long}, "")
		require.Len(t, got, 1)
		assert.Equal(t, maxParamLen, utf8.RuneCountInString(got[0].Value), "cut to MLflow's limit in characters")
		assert.True(t, strings.HasSuffix(got[0].Value, "…[truncated by magelab from 7000 characters]"))
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "param vocab is 7000 characters, over MLflow's limit of 6000: truncated")
	})
	t.Run("KeyMLflowRefusesIsLeftOut", func(t *testing.T) {
		got, warnings := paramList(map[string]any{"a//b": 1, strings.Repeat("k", 251): 2, "ok": 3}, "")
		assert.Equal(t, []kv{{"ok", "3"}}, got)
		assert.Len(t, warnings, 2)
	})
}

func TestBadKey(t *testing.T) {
	for key, bad := range map[string]bool{
		"val_accuracy": false, "train.lr": false, "system/gpu_0_utilization_percentage": false, "a b:c-d": false,
		"": true, "/abs": true, "a//b": true, "a/./b": true, "../up": true, "..": true, "dir/": true, strings.Repeat("x", 251): true,
	} {
		assert.Equal(t, bad, badKey(key) != "", "badKey(%q)", key)
	}
}
