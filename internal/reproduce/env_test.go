package reproduce

import (
	"slices"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/stamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReproduceEnv(t *testing.T) {
	cases := []struct {
		name      string
		base      []string
		recorded  map[string]string
		want      []string // the reproduced variables in the result, in order
		notes     []string // substrings, one per note
		passes    []string // variables of base kept as they are
		forbidden []string
	}{
		{name: "SetAsRecorded", base: []string{"PATH=/bin", "CUDA_VISIBLE_DEVICES=1"},
			recorded: map[string]string{"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "CUDA_VISIBLE_DEVICES": "0", "GITHUB_RUN_ID": "7"},
			want:     []string{"CUBLAS_WORKSPACE_CONFIG=:4096:8"}, notes: []string{"CUBLAS_WORKSPACE_CONFIG=:4096:8 as the run had it (unset here)"},
			passes: []string{"PATH=/bin", "CUDA_VISIBLE_DEVICES=1"}, forbidden: []string{"CUDA_VISIBLE_DEVICES=0", "GITHUB_RUN_ID=7"}},
		{name: "OverridesDifferentValue", base: []string{"OMP_NUM_THREADS=8", "HOME=/root"},
			recorded: map[string]string{"OMP_NUM_THREADS": "2"},
			want:     []string{"OMP_NUM_THREADS=2"}, notes: []string{"OMP_NUM_THREADS=2 as the run had it (8 here)"},
			passes: []string{"HOME=/root"}, forbidden: []string{"OMP_NUM_THREADS=8"}},
		{name: "UnsetsWhatTheRunLacked", base: []string{"PYTHONHASHSEED=1", "MKL_NUM_THREADS=4"},
			recorded: map[string]string{"MKL_NUM_THREADS": "4"},
			want:     []string{"MKL_NUM_THREADS=4"}, notes: []string{"PYTHONHASHSEED unset as for the run (1 here)"},
			forbidden: []string{"PYTHONHASHSEED=1"}},
		{name: "SetButEmptyIsKept", base: nil, recorded: map[string]string{"XLA_FLAGS": ""},
			want: []string{"XLA_FLAGS="}, notes: []string{"XLA_FLAGS= as the run had it (unset here)"}},
		{name: "SameIsQuiet", base: []string{"OMP_NUM_THREADS=2"}, recorded: map[string]string{"OMP_NUM_THREADS": "2"},
			want: []string{"OMP_NUM_THREADS=2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, notes := reproduceEnv(c.base, c.recorded)
			var got []string
			for _, kv := range env {
				k, _, _ := strings.Cut(kv, "=")
				if slices.Contains(reproducedVars, k) {
					got = append(got, kv)
				}
			}
			assert.Equal(t, c.want, got, "reproduced vars %v, want %v", got, c.want)
			for _, kv := range c.passes {
				assert.Contains(t, env, kv, "%s not passed through: %v", kv, env)
			}
			for _, kv := range c.forbidden {
				assert.NotContains(t, env, kv, "%s in env: %v", kv, env)
			}
			require.Len(t, notes, len(c.notes), "notes %q, want %q", notes, c.notes)
			for i := range notes {
				assert.Contains(t, notes[i], c.notes[i], "note %q lacks %q", notes[i], c.notes[i])
			}
			for _, kv := range c.want {
				k, v, _ := strings.Cut(kv, "=")
				val, ok := proc.LookupEnv(env, k)
				assert.True(t, ok, "lookup %s = %q %v", k, val, ok)
				assert.Equal(t, v, val, "lookup %s = %q %v", k, val, ok)
			}
		})
	}
}

// TestReproducedVarsAreRecorded: a variable the ledger does not record
// would always be unset in a reproduction.
func TestReproducedVarsAreRecorded(t *testing.T) {
	for _, k := range reproducedVars {
		assert.Contains(t, stamp.EnvVars, k, "%s is reproduced but not in stamp.EnvVars, so never recorded", k)
	}
}

func TestFreezeDiff(t *testing.T) {
	a := "numpy==1.26.4\nTorch==2.5.1\ntqdm==4.66.4\nsix==1.16.0\n"
	b := "numpy==2.0.0\ntorch==2.5.1\nrich==13.7.1\nsix==1.16.0\n"
	want := []string{"numpy 1.26.4 → 2.0.0", "+ rich 13.7.1", "- tqdm 4.66.4"}
	got := freezeDiff(a, b)
	assert.Equal(t, want, got, "got %q, want %q", got, want)
	same := freezeDiff(a, a)
	assert.Nil(t, same, "same lists differ: %q", same)
}
