package sweep

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlots(t *testing.T) {
	four := []string{"0", "1", "2", "3"}
	tests := []struct {
		name            string
		spec            Spec
		devices         []string
		cores, parallel int
		want            string // slot names, ";"-joined
		threads         int
		err             string
	}{
		{"OneTrialPerGPU", Spec{}, four, 16, 0, "gpu 0;gpu 1;gpu 2;gpu 3", 4, ""},
		{"TwoTrialsPerGPU", Spec{TrialsPerGPU: 2}, four, 16, 0, "gpu 0;gpu 1;gpu 2;gpu 3;gpu 0;gpu 1;gpu 2;gpu 3", 2, ""},
		{"TwoGPUsPerTrial", Spec{GPUsPerTrial: 2}, four, 16, 0, "gpu 0,1;gpu 2,3", 8, ""},
		{"OddGPULeftIdle", Spec{GPUsPerTrial: 2}, []string{"0", "1", "2"}, 16, 0, "gpu 0,1", 16, ""},
		{"ParallelCapSpreads", Spec{TrialsPerGPU: 2}, four, 16, 3, "gpu 0;gpu 1;gpu 2", 5, ""},
		{"SpecParallel", Spec{Parallel: 2}, four, 16, 0, "gpu 0;gpu 1", 8, ""},
		{"FlagBeatsSpec", Spec{Parallel: 2}, four, 16, 1, "gpu 0", 16, ""},
		{"MoreThanGPUs", Spec{}, four, 16, 5, "", 0, "parallel 5: the 4 visible GPU(s) give 4 slot(s)"},
		{"TooFewGPUs", Spec{GPUsPerTrial: 3}, []string{"0", "1"}, 16, 0, "", 0, "gpus_per_trial: 3, but 2 GPU(s) are visible (0,1)"},
		{"CPUAuto", Spec{ThreadsPerTrial: 1}, nil, 8, 0, "cpu 0;cpu 1;cpu 2;cpu 3;cpu 4;cpu 5;cpu 6;cpu 7", 1, ""},
		{"CPUThreads", Spec{ThreadsPerTrial: 3}, nil, 8, 0, "cpu 0;cpu 1", 3, ""},
		{"CPUMoreThreadsThanCores", Spec{ThreadsPerTrial: 4}, nil, 2, 0, "cpu 0", 4, ""},
		{"CPUParallel", Spec{ThreadsPerTrial: 2}, nil, 2, 3, "cpu 0;cpu 1;cpu 2", 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.GPUsPerTrial, s.TrialsPerGPU = max(1, s.GPUsPerTrial), max(1, s.TrialsPerGPU)
			s.ThreadsPerTrial = max(1, s.ThreadsPerTrial)
			slots, err := Slots(&s, tc.devices, tc.cores, tc.parallel)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			var names []string
			for i, sl := range slots {
				names = append(names, sl.Name())
				assert.Equal(t, tc.threads, sl.Threads, "slot %d: threads", i)
				if len(sl.Devices) == 0 {
					assert.Equal(t, fmt.Sprintf("cpu %d", i), sl.Name(), "slot %d: name", i)
				}
			}
			require.Equal(t, tc.want, strings.Join(names, ";"), "slots")
		})
	}
}

func TestSlotEnv(t *testing.T) {
	env := Slot{Devices: []string{"2", "3"}, Threads: 4}.Env()
	for _, want := range []string{"OMP_NUM_THREADS=4", "MKL_NUM_THREADS=4", "OPENBLAS_NUM_THREADS=4", "MAGELAB_THREADS=4"} {
		assert.Contains(t, env, want, "env %v lacks %s", env, want)
	}
}
