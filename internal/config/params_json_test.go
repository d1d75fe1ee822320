package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseParams(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		p := Params{"seed": 42, "train": map[string]any{"lr": 0.01, "epochs": 30, "one": 1.0, "layers": []any{64, 32}, "note": nil, "name": "adam"}}
		back, err := ParseParams(p.JSON())
		require.NoError(t, err)
		require.Equal(t, p.Hash(), back.Hash(), "round trip changed the params:\n%s\n%s", p.JSON(), back.JSON())
		require.Equal(t, string(p.JSON()), string(back.JSON()), "round trip changed the params")
		assert.IsType(t, 0, back["seed"], "seed decoded as %T, want int", back["seed"])
	})
	for name, in := range map[string]string{"NotAnObject": `[1, 2]`, "BadJSON": `{"seed": `} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseParams([]byte(in))
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "params: "), "err %v", err)
		})
	}
}
