package config

import (
	"reflect"
	"testing"
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
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
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
			if got != tt.want || ok != tt.ok {
				t.Errorf("nearest(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	if got := nearestN("sead", keys, 2); !reflect.DeepEqual(got, []string{"seed", "eval"}) {
		t.Errorf("nearestN = %v", got)
	}
}
