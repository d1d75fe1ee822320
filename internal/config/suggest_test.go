package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"train", "train", 0},
		{"trian", "train", 1}, {"lrr", "lr", 1}, {"setup_data", "setup-data", 1},
		{"kitten", "sitting", 3}, {"évál", "eval", 2},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, editDistance(tt.a, tt.b), "editDistance(%q, %q)", tt.a, tt.b)
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"name", "description", "requirements", "stages", "seed", "train", "eval"}
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"Transposition", "trian", "train", true},
		{"CaseInsensitive", "Seed", "seed", true},
		{"Missing letter", "requirments", "requirements", true},
		{"TwoEditsLong", "descripton1", "description", true},
		{"TooFarShort", "xyz", "", false},
		{"TooFar", "hyperparameters", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := nearest(tt.in, keys)
			assert.Equal(t, tt.want, got, "nearest(%q)", tt.in)
			assert.Equal(t, tt.ok, ok, "nearest(%q) ok", tt.in)
		})
	}
	assert.Equal(t, []string{"seed", "eval"}, nearestN("sead", keys, 2), "nearestN")
}
