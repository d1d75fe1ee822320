package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

func TestParamsJSON(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{"SortedKeys", Params{"b": 1, "a": map[string]any{"z": 1, "y": 2}}, `{"a":{"y":2,"z":1},"b":1}`},
		{"FloatsKeepPoint", Params{"a": 1.0, "b": 0.5, "c": 3e-4, "d": 1e-7, "e": 1e21, "f": -2.0}, `{"a":1.0,"b":0.5,"c":0.0003,"d":1.0e-07,"e":1.0e+21,"f":-2.0}`},
		{"Ints", Params{"a": 30, "b": -1, "c": int64(7), "d": uint8(3)}, `{"a":30,"b":-1,"c":7,"d":3}`},
		{"Scalars", Params{"s": "a<b>&\"c\"\n", "t": true, "n": nil}, `{"n":null,"s":"a<b>&\"c\"\n","t":true}`},
		{"Lists", Params{"l": []any{1, "x", 2.5, nil, false}}, `{"l":[1,"x",2.5,null,false]}`},
		{"Empty", Params{}, `{}`},
		{"OtherTypes", Params{"m": map[string]string{"k": "v"}, "f": float32(0.5), "s": []int{1, 2}}, `{"f":0.5,"m":{"k":"v"},"s":[1,2]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.p.JSON())
			assert.Equal(t, tt.want, got, "JSON")
			assert.True(t, json.Valid([]byte(got)), "not valid JSON: %s", got)
		})
	}
}

func TestParamsHashIgnoresYAMLLayout(t *testing.T) {
	dir := copyTree(t, "project")
	writeFile(t, dir, "experiments/a.yaml", "stages: {train: python/train.py}\ntrain: {lr: 0.1, epochs: 3}\nseed: 1\n")
	writeFile(t, dir, "experiments/b.yaml", "# comment\nseed: 1\ntrain:\n  epochs: 3   # int\n  lr: 1e-1\nstages:\n  train: python/train.py\n")
	a, b := MustLoad(t, dir, "a"), MustLoad(t, dir, "b")
	assert.Equal(t, a.Params.Hash(), b.Params.Hash(), "hash differs:\n%s\n%s", a.Params.JSON(), b.Params.JSON())
	assert.NotEqual(t, a.Hash, b.Hash, "file hashes of different files are equal")
	assert.Len(t, a.Params.Hash(), 64, "Hash = %q, want 64 hex digits", a.Params.Hash())
}

func TestParamsYAMLGolden(t *testing.T) {
	e := MustLoad(t, testRoot(t, "project"), "full")
	e.Params["data"].(map[string]any)["looks_like_number"] = "3"
	e.Params["data"].(map[string]any)["tiny"] = 1e-7
	got := e.Params.YAML()
	golden := filepath.Join("testdata", "golden", "params.yaml")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "YAML(), against %s", golden)
	// It reads back as the same params.
	var back map[string]any
	require.NoError(t, yaml.Unmarshal(got, &back))
	assert.Equal(t, string(e.Params.JSON()), string(canonicalJSON(nil, back)), "YAML does not read back")
}

func TestParamsLookupFlatten(t *testing.T) {
	p := Params{"seed": 1, "train": map[string]any{"lr": 0.1, "opt": map[string]any{"name": "adam"}, "empty": map[string]any{}}}
	lookups := []struct {
		key  string
		want any
		ok   bool
	}{
		{"seed", 1, true},
		{"train.lr", 0.1, true},
		{"train.opt.name", "adam", true},
		{"train.opt", map[string]any{"name": "adam"}, true},
		{"train.lrr", nil, false},
		{"seed.x", nil, false},
		{"", nil, false},
		{"train.", nil, false},
	}
	for _, tt := range lookups {
		got, ok := p.Lookup(tt.key)
		assert.Equal(t, tt.ok, ok, "Lookup(%q) ok", tt.key)
		assert.Equal(t, tt.want, got, "Lookup(%q)", tt.key)
	}
	wantFlat := map[string]any{"seed": 1, "train.lr": 0.1, "train.opt.name": "adam"}
	assert.Equal(t, wantFlat, p.Flatten(), "Flatten")
	got := p.Select("train", "eval", "seed")
	assert.Len(t, got, 2, "Select = %v", got)
	assert.Equal(t, 1, got["seed"], "Select = %v", got)
}

func TestFormatFloat(t *testing.T) {
	tests := map[float64]string{
		0: "0.0", 1: "1.0", -2: "-2.0", 0.1: "0.1", 3e-4: "0.0003", 1e-6: "0.000001",
		1e-7: "1.0e-07", 1.5e-8: "1.5e-08", 123456789: "123456789.0", 1e21: "1.0e+21",
	}
	for f, want := range tests {
		assert.Equal(t, want, formatFloat(f), "formatFloat(%g)", f)
	}
}
