package config

import (
	"strings"
	"testing"
)

func TestParseParams(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		p := Params{"seed": 42, "train": map[string]any{"lr": 0.01, "epochs": 30, "one": 1.0, "layers": []any{64, 32}, "note": nil, "name": "adam"}}
		back, err := ParseParams(p.JSON())
		if err != nil {
			t.Fatal(err)
		}
		if back.Hash() != p.Hash() || string(back.JSON()) != string(p.JSON()) {
			t.Fatalf("round trip changed the params:\n%s\n%s", p.JSON(), back.JSON())
		}
		if _, isInt := back["seed"].(int); !isInt {
			t.Errorf("seed decoded as %T, want int", back["seed"])
		}
	})
	for name, in := range map[string]string{"NotAnObject": `[1, 2]`, "BadJSON": `{"seed": `} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseParams([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "params: ") {
				t.Fatalf("err %v", err)
			}
		})
	}
}
